#!/usr/bin/env python3
"""Cuts seed documents for the import fuzzer out of a real export.

    salesfsm demo --db demo.db && salesfsm export --db demo.db > export.json
    python3 tests/fuzz/import_seeds.py export.json tests/fuzz/corpus/import

Each seed keeps the exporter's bytes (the opportunities' text is sliced, not
re-serialised) so that it is a document sfsm_export_json could have written:
one per stage (the opportunity of that stage with the longest history that
keeps the seed under 20 KB), opportunities whose updates and transitions change every
field there is, and one
with three opportunities.
"""
import json
import os
import sys

LIMIT = 20000
HEAD = '{\n  "format": "salesfsm-opportunities",\n  "version": 1,\n  "opportunities": [\n'
TAIL = '\n  ]\n}\n'


def blocks(text):
    """The text of each opportunity object, as the exporter wrote it."""
    body = text[text.index('"opportunities": [\n') + len('"opportunities": [\n'):text.rindex('\n  ]')]
    inner = body[len('    {\n'):-len('\n    }')]
    return ['    {\n' + b + '\n    }' for b in inner.split('\n    },\n    {\n')]


def main():
    src, out = sys.argv[1], sys.argv[2]
    text = open(src, encoding='utf-8').read()
    parts = blocks(text)
    opps = [json.loads(p) for p in parts]
    docs = {}
    by_stage = {}
    for p, o in zip(parts, opps):
        doc = HEAD + p + TAIL
        if len(doc.encode()) >= LIMIT:
            continue
        best = by_stage.get(o['stage'])
        if best is None or len(o['history']) > best[0]:
            by_stage[o['stage']] = (len(o['history']), doc)
    for stage, (_, doc) in sorted(by_stage.items()):
        docs['stage_' + stage] = doc
    fields = set()
    for p, o in zip(parts, opps):
        f = {h['kind'] + '_' + x for h in o['history'] if h['kind'] != 'create' for x in h['fields']}
        new = f - fields
        if new and len((HEAD + p + TAIL).encode()) < LIMIT:
            fields |= f
            docs['fields_' + '_'.join(sorted(new))] = HEAD + p + TAIL
    three = [p for p in parts if len(p) < LIMIT // 4][:3]
    docs['three'] = HEAD + ',\n'.join(three) + TAIL
    for name, doc in docs.items():
        json.loads(doc)
        with open(os.path.join(out, 'real_' + name + '.json'), 'w', encoding='utf-8') as f:
            f.write(doc)


main()
