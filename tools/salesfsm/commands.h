/*
 * commands.h — the subcommands of the salesfsm tool. Each takes the
 * arguments from its own name on (argv[0] is "show", say) and returns the
 * exit code: CLI_OK, CLI_FAIL or CLI_USAGE (cli.h).
 */
#ifndef SALESFSM_COMMANDS_H
#define SALESFSM_COMMANDS_H

int cmd_demo(int argc, char **argv);      /* demo.c */
int cmd_validate(int argc, char **argv);  /* cmd_pipeline.c */
int cmd_graph(int argc, char **argv);     /* cmd_pipeline.c */
int cmd_pipeline(int argc, char **argv);  /* cmd_pipeline.c */
int cmd_create(int argc, char **argv);    /* cmd_create.c */
int cmd_fire(int argc, char **argv);      /* cmd_fire.c */
int cmd_show(int argc, char **argv);      /* cmd_show.c */
int cmd_history(int argc, char **argv);   /* cmd_history.c */
int cmd_list(int argc, char **argv);      /* cmd_list.c */
int cmd_import(int argc, char **argv);    /* cmd_io.c */
int cmd_export(int argc, char **argv);    /* cmd_io.c */
int cmd_report(int argc, char **argv);    /* cmd_report.c */
int cmd_team(int argc, char **argv);      /* cmd_team.c */
int cmd_target(int argc, char **argv);    /* cmd_target.c */
int cmd_pay(int argc, char **argv);       /* cmd_pay.c */
int cmd_payments(int argc, char **argv);  /* cmd_pay.c */

#endif
