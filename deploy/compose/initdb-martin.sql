-- compose.yaml only: the read-only role Martin connects with. It may read every table the
-- schema owner (wildside) creates later, and write nothing. Kubernetes clusters create the
-- same role out of band (docs/operations.md).
CREATE ROLE martin_ro LOGIN PASSWORD 'martin-ro';
GRANT CONNECT ON DATABASE wildside TO martin_ro;
GRANT USAGE ON SCHEMA public TO martin_ro;
ALTER DEFAULT PRIVILEGES FOR ROLE wildside IN SCHEMA public GRANT SELECT ON TABLES TO martin_ro;
ALTER DEFAULT PRIVILEGES FOR ROLE wildside IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO martin_ro;
