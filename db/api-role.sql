-- The API's own role, starter_api: it owns the schema public and what is in it, and is no
-- superuser. The database stays the superuser's, so starter_api cannot create schemas (one named
-- like the superuser would come first in the superuser's search_path). Run by the superuser, on a
-- new cluster (docker-entrypoint-initdb.d) and by startStack.sh on every start, so a database made
-- before the role existed, or restored from a superuser's dump, is handed over too. Safe to run again.
-- The password comes from the environment variable API_DB_PASSWORD.
-- Only the catalog is looked up by name here: nothing starter_api made can run as the superuser.
SET search_path = pg_catalog;
\set ON_ERROR_STOP on
\getenv api_db_password API_DB_PASSWORD
\if :{?api_db_password}
\else
  \set api_db_password ''
\endif

SELECT 'CREATE ROLE starter_api' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'starter_api') \gexec
-- An empty password clears it: the role then cannot log in over TCP.
ALTER ROLE starter_api WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  PASSWORD :'api_db_password';
-- An earlier version gave starter_api the database itself: take it back.
ALTER DATABASE :"DBNAME" OWNER TO CURRENT_USER;
REVOKE CREATE ON DATABASE :"DBNAME" FROM PUBLIC, starter_api;
GRANT CONNECT, TEMPORARY ON DATABASE :"DBNAME" TO starter_api;
ALTER SCHEMA public OWNER TO starter_api;
-- The superuser's sessions in this database do not look in a schema named after it ("$user").
ALTER ROLE CURRENT_USER IN DATABASE :"DBNAME" SET search_path = pg_catalog, public;
-- The extensions text search needs (the search migration makes them where it may): without
-- CREATE on the database, starter_api cannot. They stay the superuser's, as their objects in public.
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public;

DO $$
DECLARE
  object record;
BEGIN
  -- What is in public and not yet starter_api's, as (kind, name), tables first. Left out: an
  -- extension's objects (they stay with its owner), sequences a table owns, a table's row type,
  -- array types and a range's multirange (each follows what it belongs to).
  FOR object IN
    WITH owned AS (
      SELECT 1 AS rank, 'TABLE' AS kind, c.oid::regclass::text AS name, 'pg_class'::regclass AS catalog, c.oid
      FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
        AND c.relowner <> 'starter_api'::regrole
      UNION ALL
      SELECT 2, 'SEQUENCE', c.oid::regclass::text, 'pg_class'::regclass, c.oid
      FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'S'
        AND c.relowner <> 'starter_api'::regrole
        AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                          AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
      UNION ALL
      SELECT 3, 'ROUTINE', p.oid::regprocedure::text, 'pg_proc'::regclass, p.oid
      FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND p.proowner <> 'starter_api'::regrole
      UNION ALL
      SELECT 4, 'TYPE', t.oid::regtype::text, 'pg_type'::regclass, t.oid
      FROM pg_type t WHERE t.typnamespace = 'public'::regnamespace AND t.typowner <> 'starter_api'::regrole
        AND t.typtype IN ('b', 'c', 'd', 'e', 'r')
        AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
        AND NOT EXISTS (SELECT FROM pg_type e WHERE e.typarray = t.oid)
    )
    SELECT kind, name FROM owned o
    WHERE NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = o.catalog AND d.objid = o.oid AND d.deptype = 'e')
    ORDER BY rank, name
  LOOP
    EXECUTE format('ALTER %s %s OWNER TO starter_api', object.kind, object.name);
  END LOOP;
  -- Schemas starter_api made while it owned the database (it no longer may): an operator decides.
  FOR object IN
    SELECT nspname AS name FROM pg_namespace
    WHERE nspowner = 'starter_api'::regrole AND nspname <> 'public'
  LOOP
    RAISE WARNING 'schema % belongs to starter_api, which may no longer create schemas: check what is in it, then drop it (DROP SCHEMA % CASCADE) or keep it', quote_ident(object.name), quote_ident(object.name);
  END LOOP;
END $$;
