"""The domain rules of the knowledge base, each written once.

Pure functions over plain data (strings, numbers, dicts and tuples): no
database access, no models. The single-record services (API, demo,
verification, audit reverts) and the set-based importers (COPY and raw SQL)
both call these, so one input gives the same rows whichever path it takes.

- values:  a published metric value -> (number, text); metric direction; dates
- ranking: the order of a table, rank numbers, the running best, the best of a board
- columns: the primary metric of a table and its column order
- listing: the tasks a result is listed under (its own, and every category above)
- slugs:   a name -> its base URL slug, and the next free candidate (base, base-2 …)
- names:   when two spellings are one task, dataset or model (case, spacing, Unicode
           form, "(Extra Data)" listings); the resolver's decision (existing row,
           existing row via a new alias, new row); the order a cited paper is matched in
- papers:  arXiv ids and venues in paper references
"""
