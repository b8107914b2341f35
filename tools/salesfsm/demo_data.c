/* The people, customers, products and lost reasons of the demo. Invented;
 * any likeness to real companies is accidental. */
#include "demo.h"

const sfsm_actor demo_manager = { "Zhang Min", "manager" };
const sfsm_actor demo_reps[DEMO_REPS] = {
    { "Li Wei", "rep" },
    { "Wang Fang", "rep" },
    { "Chen Jie", "rep" },
    { "Liu Yang", "rep" },
};
const int demo_rep_skill[DEMO_REPS] = { 30, 10, 0, -15 };
const sfsm_actor demo_assistant = { "Zhao Li", "assistant" };
const sfsm_actor demo_support = { "Sun Hao", "support" };

const char *const demo_customers[] = {
    "Hangzhou Lianhua Trading Co.",
    "Suzhou Jinlong Precision Machinery",
    "Ningbo Haitian Logistics",
    "Shenzhen Guangming Electronics",
    "Chengdu Tianfu Food Processing",
    "Wuhan Changjiang Auto Parts",
    "Qingdao Blue Sea Cold Chain",
    "Xiamen Golden Bay Textiles",
    "Dongguan Huasheng Plastics",
    "Tianjin Binhai Steel Works",
    "Nanjing Zijin Pharmaceuticals",
    "Hefei Yuanda New Energy",
    "Changsha Xiangjiang Construction",
    "Foshan Meidi Home Appliances",
    "Shenyang Northern Heavy Industry",
    "Kunming Yunling Tea Group",
    "Xi'an Qinchuan Instruments",
    "Zhengzhou Central Plains Grain",
    "Fuzhou Minjiang Shipping",
    "Jinan Quancheng Packaging",
};
const size_t demo_customer_count = sizeof demo_customers / sizeof demo_customers[0];

const char *const demo_regions[] = {
    "East", "East", "East", "South", "Southwest", "Central", "North", "South", "South", "North",
    "East", "East", "Central", "South", "Northeast", "Southwest", "Northwest", "Central", "South", "North",
};
_Static_assert(sizeof demo_regions / sizeof demo_regions[0] == sizeof demo_customers / sizeof demo_customers[0],
               "one region per customer");

const demo_product demo_products[] = {
    { "ERP rollout, %d seats", 20, 200, 6000 },
    { "CNC spare parts, %d-month supply", 6, 24, 15000 },
    { "Warehouse scanners, %d units", 10, 80, 4500 },
    { "MES pilot, %d production lines", 1, 4, 260000 },
    { "Service contract, %d-year term", 1, 3, 85000 },
    { "Industrial robots, %d arms", 2, 8, 180000 },
    { "Cold-chain sensors, %d sites", 3, 30, 22000 },
    { "Operator training, %d people", 10, 60, 1500 },
};
const size_t demo_product_count = sizeof demo_products / sizeof demo_products[0];

const char *const demo_lost_reasons[4][4] = {
    /* lead */ { "no budget this year", "no response after three calls", "not a fit for our products",
                 "duplicate of an existing lead" },
    /* qualified */ { "project postponed to next year", "chose a competitor", "requirements changed",
                      "decision maker left the company" },
    /* quoted */ { "price too high", "chose a competitor", "delivery time too long", "budget cut" },
    /* negotiating */ { "lost on price", "payment terms not acceptable", "chose a competitor",
                        "project cancelled by the board" },
};
