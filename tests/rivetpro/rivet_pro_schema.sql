-- Rivet Pro's database as its migrations 001-008 leave it: the public repository
-- Mikecranesync/Rivet-PRO, rivet_pro/migrations/001_saas_layer.sql ... 008_complete_web_auth.sql
-- (001-006 at commit 10c1b5aa852975c10bd91ead65f5a5a8d1fb4ba8, 007 at f78b9353, 008 at a461fbdb).
--
-- Written for Rivet's tests from those files, not copied: every table, column, type, default,
-- constraint, enum and numbering trigger of the tables the importer reads is reproduced as the
-- migrations define it, in the order they apply (008 renames users.name to full_name, adds
-- role and drops check_platform_id; 007/008 add the web login columns). Left out: the
-- knowledge-base tables' pgvector column and index (002; the extension is not installed on
-- the test server), comments, and the tables the importer does not read (manuals, tech notes,
-- interactions, manual requests, subscription limits' rows).

CREATE EXTENSION IF NOT EXISTS "uuid-ossp";

-- 001: teams and users
CREATE TABLE teams (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(255) NOT NULL,
    owner_id UUID,
    subscription_tier VARCHAR(20) NOT NULL DEFAULT 'free'
        CONSTRAINT check_subscription_tier CHECK (subscription_tier IN ('free', 'pro', 'team')),
    max_seats INTEGER DEFAULT 1,
    created_at TIMESTAMPTZ DEFAULT NOW(),
    updated_at TIMESTAMPTZ DEFAULT NOW()
);
CREATE TABLE users (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    telegram_id BIGINT UNIQUE,
    whatsapp_id VARCHAR(20) UNIQUE,
    name VARCHAR(255),
    email VARCHAR(255),
    company VARCHAR(255),
    subscription_tier VARCHAR(20) DEFAULT 'free'
        CONSTRAINT check_subscription_tier CHECK (subscription_tier IN ('free', 'pro', 'team')),
    team_id UUID REFERENCES teams(id) ON DELETE SET NULL,
    monthly_lookup_count INTEGER DEFAULT 0,
    lookup_count_reset_date DATE DEFAULT CURRENT_DATE,
    created_at TIMESTAMPTZ DEFAULT NOW(),
    last_active_at TIMESTAMPTZ DEFAULT NOW(),
    CONSTRAINT check_platform_id CHECK (telegram_id IS NOT NULL OR whatsapp_id IS NOT NULL)
);
ALTER TABLE teams ADD CONSTRAINT fk_team_owner
    FOREIGN KEY (owner_id) REFERENCES users(id) ON DELETE CASCADE;

-- 002: the knowledge base the equipment links to (without embeddings)
CREATE TABLE manufacturers (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(255) NOT NULL UNIQUE,
    aliases TEXT[],
    website VARCHAR(500),
    created_at TIMESTAMPTZ DEFAULT NOW(),
    updated_at TIMESTAMPTZ DEFAULT NOW()
);
CREATE TABLE equipment_models (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    manufacturer_id UUID REFERENCES manufacturers(id) ON DELETE CASCADE,
    model_number VARCHAR(255) NOT NULL,
    model_aliases TEXT[],
    equipment_type VARCHAR(100),
    specifications JSONB,
    voltage_rating VARCHAR(50),
    power_rating VARCHAR(50),
    current_rating VARCHAR(50),
    created_at TIMESTAMPTZ DEFAULT NOW(),
    updated_at TIMESTAMPTZ DEFAULT NOW(),
    UNIQUE (manufacturer_id, model_number)
);

-- 003: equipment, numbered EQ-<year>-<6 digits> by a trigger when none is given
CREATE TYPE criticality_level AS ENUM ('low', 'medium', 'high', 'critical');
CREATE SEQUENCE equipment_seq START 1;
CREATE FUNCTION generate_equipment_number() RETURNS VARCHAR(50) AS $$
    SELECT 'EQ-' || TO_CHAR(NOW(), 'YYYY') || '-' || LPAD(nextval('equipment_seq')::TEXT, 6, '0')
$$ LANGUAGE sql;
CREATE TABLE cmms_equipment (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    equipment_number VARCHAR(50) UNIQUE NOT NULL,
    equipment_model_id UUID REFERENCES equipment_models(id) ON DELETE SET NULL,
    manufacturer VARCHAR(255) NOT NULL,
    model_number VARCHAR(255),
    serial_number VARCHAR(255),
    equipment_type VARCHAR(100),
    location VARCHAR(500),
    department VARCHAR(255),
    criticality criticality_level DEFAULT 'medium',
    owned_by_user_id UUID REFERENCES users(id) ON DELETE SET NULL,
    machine_id UUID,
    description TEXT,
    photo_file_id VARCHAR(500),
    installation_date DATE,
    last_maintenance_date DATE,
    work_order_count INTEGER DEFAULT 0,
    total_downtime_hours FLOAT DEFAULT 0.0,
    last_reported_fault VARCHAR(100),
    last_work_order_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    first_reported_by UUID REFERENCES users(id) ON DELETE SET NULL
);
CREATE FUNCTION set_equipment_number_trigger() RETURNS TRIGGER AS $$
BEGIN
    IF NEW.equipment_number IS NULL THEN
        NEW.equipment_number := generate_equipment_number();
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER set_equipment_number BEFORE INSERT ON cmms_equipment
    FOR EACH ROW EXECUTE FUNCTION set_equipment_number_trigger();

-- 004: work orders, numbered WO-<year>-<6 digits>; every order names its equipment
CREATE TYPE source_type AS ENUM (
    'telegram_text', 'telegram_voice', 'telegram_photo', 'telegram_print_qa',
    'telegram_manual_gap', 'whatsapp_text', 'whatsapp_voice', 'whatsapp_photo'
);
CREATE TYPE route_type AS ENUM ('A', 'B', 'C', 'D');
CREATE TYPE work_order_status AS ENUM ('open', 'in_progress', 'completed', 'cancelled');
CREATE TYPE priority_level AS ENUM ('low', 'medium', 'high', 'critical');
CREATE SEQUENCE work_order_seq START 1;
CREATE FUNCTION generate_work_order_number() RETURNS VARCHAR(50) AS $$
    SELECT 'WO-' || TO_CHAR(NOW(), 'YYYY') || '-' || LPAD(nextval('work_order_seq')::TEXT, 6, '0')
$$ LANGUAGE sql;
CREATE TABLE work_orders (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    work_order_number VARCHAR(50) UNIQUE NOT NULL,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    telegram_username VARCHAR(255),
    created_by_agent VARCHAR(100),
    source source_type NOT NULL,
    equipment_id UUID NOT NULL REFERENCES cmms_equipment(id) ON DELETE CASCADE,
    equipment_number VARCHAR(50),
    manufacturer VARCHAR(255),
    model_number VARCHAR(255),
    serial_number VARCHAR(255),
    equipment_type VARCHAR(100),
    machine_id UUID,
    location VARCHAR(500),
    title VARCHAR(500) NOT NULL,
    description TEXT NOT NULL,
    fault_codes TEXT[],
    symptoms TEXT[],
    answer_text TEXT,
    confidence_score FLOAT,
    route_taken route_type,
    suggested_actions TEXT[],
    safety_warnings TEXT[],
    cited_kb_atoms TEXT[],
    manual_links TEXT[],
    status work_order_status DEFAULT 'open',
    priority priority_level DEFAULT 'medium',
    trace_id UUID,
    conversation_id UUID,
    research_triggered BOOLEAN DEFAULT FALSE,
    enrichment_triggered BOOLEAN DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    completed_at TIMESTAMPTZ
);
CREATE FUNCTION set_work_order_number_trigger() RETURNS TRIGGER AS $$
BEGIN
    IF NEW.work_order_number IS NULL THEN
        NEW.work_order_number := generate_work_order_number();
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER set_work_order_number BEFORE INSERT ON work_orders
    FOR EACH ROW EXECUTE FUNCTION set_work_order_number_trigger();
CREATE FUNCTION update_equipment_on_work_order() RETURNS TRIGGER AS $$
BEGIN
    UPDATE cmms_equipment
    SET work_order_count = work_order_count + 1, last_work_order_at = NOW(),
        last_reported_fault = COALESCE(NEW.fault_codes[1], last_reported_fault)
    WHERE id = NEW.equipment_id;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER work_order_equipment_stats AFTER INSERT ON work_orders
    FOR EACH ROW EXECUTE FUNCTION update_equipment_on_work_order();

-- 005: the personal machine library (its nickname names the equipment linked to it)
CREATE TABLE user_machines (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    nickname VARCHAR(255) NOT NULL,
    manufacturer VARCHAR(255),
    model_number VARCHAR(255),
    serial_number VARCHAR(255),
    location VARCHAR(255),
    notes TEXT,
    photo_file_id VARCHAR(500),
    created_at TIMESTAMPTZ DEFAULT NOW(),
    updated_at TIMESTAMPTZ DEFAULT NOW(),
    last_query_at TIMESTAMPTZ,
    UNIQUE (user_id, nickname)
);

-- 006: the links to the machine library
ALTER TABLE cmms_equipment ADD CONSTRAINT fk_cmms_equipment_machine
    FOREIGN KEY (machine_id) REFERENCES user_machines(id) ON DELETE SET NULL;
ALTER TABLE work_orders ADD CONSTRAINT fk_work_orders_machine
    FOREIGN KEY (machine_id) REFERENCES user_machines(id) ON DELETE SET NULL;

-- 007: web login
ALTER TABLE users ADD COLUMN password_hash VARCHAR(255);
ALTER TABLE users ADD COLUMN email_verified BOOLEAN DEFAULT FALSE;
ALTER TABLE users ADD COLUMN last_login_at TIMESTAMPTZ;
CREATE UNIQUE INDEX idx_users_email_unique ON users(email) WHERE email IS NOT NULL;

-- 008: web users without a platform id; roles
ALTER TABLE users RENAME COLUMN name TO full_name;
ALTER TABLE users ADD COLUMN role VARCHAR(20) DEFAULT 'user';
ALTER TABLE users DROP CONSTRAINT check_platform_id;
