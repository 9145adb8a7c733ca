"""Places: the points of interest the ingest and the enricher both write.

    poi.py       what a POI row is and how an element's tags become it (name, popularity,
                 canonical tags, content hash), and the sources that write them; pure.
    postgres.py  the one upsert of POI rows into `pois`, with the source as a parameter
                 (asyncpg).

Which themes an element has comes from `wildside_common.themes` (the tag rules); which
elements a source keeps is its own choice (the ingest's filters, the enricher's query).
Nothing is imported here, so the pure module never loads asyncpg.
"""
