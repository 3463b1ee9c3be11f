-- Rivet's PostgreSQL roles: one login role per service, owning its own schema and nothing else.
--
-- Run once per database, as a superuser (or as the database owner with CREATEROLE), before the
-- services start; it is idempotent, so run it again after an upgrade that adds a service:
--
--   psql -v ON_ERROR_STOP=1 -d rivet -f deploy/postgres/roles.sql
--
-- Then give each role a password (never in this file), e.g.
--   ALTER ROLE rivet_auth PASSWORD '...';        -- or \password rivet_auth in psql
-- and point each service's DATABASE_URL at its own role:
--   postgresql://rivet_auth:<password>@<host>:5432/rivet
--
-- Role names are rivet_<service>. Several deployments sharing one PostgreSQL cluster (roles are
-- cluster-wide) add a suffix with a session setting:
--   PGOPTIONS='-c rivet.role_suffix=_staging' psql -v ON_ERROR_STOP=1 -d rivet_staging -f ...
--
-- What each service role can do: connect to this database; create, change and drop objects in
-- its own schema (its migrations run as that role); use the extensions installed in public.
-- What it cannot do: read or write another service's schema, create objects in public or new
-- schemas, create extensions, roles or databases.

-- Extensions used by the assets service's fuzzy search. Service roles cannot create them, so the
-- administrator installs them here, in public (the services' search_path is "<schema>, public";
-- their migrations' CREATE EXTENSION IF NOT EXISTS then finds them and does nothing).
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch WITH SCHEMA public;

-- Nobody creates objects in public any more (PostgreSQL 15+ already defaults to this); USAGE
-- stays so that the extensions' functions and operators resolve.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

DO $roles$
DECLARE
    -- Every service that owns a schema (schema name = service name). telegram is listed ahead
    -- of its service; an unused role costs nothing.
    services CONSTANT text[] := ARRAY['auth', 'assets', 'workorders', 'ocr', 'telegram',
                                      'maintenance', 'integrations', 'attachments'];
    suffix CONSTANT text := coalesce(current_setting('rivet.role_suffix', true), '');
    svc text;
    role_name text;
    obj record;
BEGIN
    IF suffix !~ '^[a-z0-9_]*$' THEN
        RAISE EXCEPTION 'rivet.role_suffix must match [a-z0-9_]*, got %', suffix;
    END IF;

    -- Only the roles granted below may connect; no default rights for anyone else.
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());

    FOREACH svc IN ARRAY services LOOP
        role_name := 'rivet_' || svc || suffix;
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) THEN
            EXECUTE format(
                'CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT '
                'NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 200', role_name);
        END IF;
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), role_name);

        EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', svc, role_name);
        EXECUTE format('ALTER SCHEMA %I OWNER TO %I', svc, role_name);
        EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', svc);

        -- A database that ran before roles existed (objects made by a superuser's migrations):
        -- hand the schema's tables, views, standalone sequences, types and functions over.
        FOR obj IN
            SELECT c.relname, c.relkind FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = svc AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
              AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = role_name)
              AND NOT EXISTS (  -- sequences owned by a column follow their table
                  SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                    AND d.deptype IN ('a', 'i') AND c.relkind = 'S')
        LOOP
            EXECUTE format('ALTER %s %I.%I OWNER TO %I',
                CASE obj.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                    WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
                svc, obj.relname, role_name);
        END LOOP;
        FOR obj IN
            SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE n.nspname = svc AND t.typtype IN ('e', 'd', 'r')
              AND t.typowner <> (SELECT oid FROM pg_roles WHERE rolname = role_name)
        LOOP
            EXECUTE format('ALTER TYPE %I.%I OWNER TO %I', svc, obj.typname, role_name);
        END LOOP;
        FOR obj IN
            SELECT p.oid::regprocedure AS signature FROM pg_proc p
            JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = svc
              AND p.proowner <> (SELECT oid FROM pg_roles WHERE rolname = role_name)
        LOOP
            EXECUTE format('ALTER ROUTINE %s OWNER TO %I', obj.signature, role_name);
        END LOOP;
    END LOOP;
END
$roles$;
