"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 18:01:58.107108
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hotline.models.types
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone', hotline.models.types.EncryptedText(), nullable=False),
    sa.Column('phone_hash', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('opted_out_at', hotline.models.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', hotline.models.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('anonymised_at', hotline.models.types.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts')),
    sa.UniqueConstraint('phone_hash', name=op.f('uq_contacts_phone_hash'))
    )
    op.create_table('durable_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('args', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('queue', sa.String(length=32), nullable=False),
    sa.Column('due_at', hotline.models.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('timeout_seconds', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('started_at', hotline.models.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', hotline.models.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', hotline.models.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_durable_jobs')),
    sa.UniqueConstraint('key', name=op.f('uq_durable_jobs_key'))
    )
    with op.batch_alter_table('durable_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_durable_jobs_state_due', ['state', 'due_at'], unique=False)

    op.create_table('providers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('latitude', sa.Double(), nullable=False),
    sa.Column('longitude', sa.Double(), nullable=False),
    sa.Column('place_code', sa.String(length=80), nullable=True),
    sa.Column('serves', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('services', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('beds_free', sa.Integer(), nullable=True),
    sa.Column('hours', sa.String(length=200), nullable=False),
    sa.Column('languages', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('publishes_phone', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('demo', sa.Boolean(), nullable=False),
    sa.Column('created_at', hotline.models.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hotline.models.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_providers')),
    sa.UniqueConstraint('code', name=op.f('uq_providers_code'))
    )
    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_providers_kind'), ['kind'], unique=False)

    op.create_table('provider_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', hotline.models.types.EncryptedText(), nullable=True),
    sa.Column('phone', hotline.models.types.EncryptedText(), nullable=False),
    sa.Column('phone_hash', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_provider_contacts_provider_id_providers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_contacts')),
    sa.UniqueConstraint('provider_id', 'position', name=op.f('uq_provider_contacts_provider_id_position'))
    )
    with op.batch_alter_table('provider_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_provider_contacts_phone_hash'), ['phone_hash'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=True),
    sa.Column('api_token_hash', sa.String(length=64), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', hotline.models.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', hotline.models.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', hotline.models.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_users_provider_id_providers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('api_token_hash', name=op.f('uq_users_api_token_hash')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('console_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', hotline.models.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', hotline.models.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', hotline.models.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_console_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_console_sessions_token_hash'))
    )
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', hotline.models.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=32), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject_type', sa.String(length=32), nullable=True),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_events_subject', ['subject_type', 'subject_id'], unique=False)

    op.create_table('flow_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('flow_id', sa.String(length=64), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('published_at', hotline.models.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_flow_versions_published_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flow_versions')),
    sa.UniqueConstraint('flow_id', 'number', name=op.f('uq_flow_versions_flow_id_number'))
    )
    with op.batch_alter_table('flow_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flow_versions_flow_id'), ['flow_id'], unique=False)

    op.create_table('conversations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('gateway', sa.String(length=32), nullable=False),
    sa.Column('gateway_session_id', sa.String(length=128), nullable=True),
    sa.Column('flow_id', sa.String(length=64), nullable=False),
    sa.Column('flow_version_id', sa.Integer(), nullable=True),
    sa.Column('state', hotline.models.types.EncryptedJSON(), nullable=True),
    sa.Column('ussd_text_consumed', sa.Integer(), nullable=False),
    sa.Column('last_reply', hotline.models.types.EncryptedText(), nullable=True),
    sa.Column('last_reply_continues', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('case_reference', sa.String(length=16), nullable=True),
    sa.Column('started_at', hotline.models.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_activity_at', hotline.models.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', hotline.models.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_conversations_contact_id_contacts')),
    sa.ForeignKeyConstraint(['flow_version_id'], ['flow_versions.id'], name=op.f('fk_conversations_flow_version_id_flow_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations')),
    sa.UniqueConstraint('gateway', 'gateway_session_id', name=op.f('uq_conversations_gateway_gateway_session_id'))
    )
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversations_case_reference'), ['case_reference'], unique=False)
        batch_op.create_index('ix_conversations_contact_status', ['contact_id', 'status'], unique=False)

    op.create_table('cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=16), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('flow_id', sa.String(length=64), nullable=False),
    sa.Column('flow_version_id', sa.Integer(), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('reporter', sa.String(length=16), nullable=False),
    sa.Column('risk_level', sa.String(length=16), nullable=False),
    sa.Column('risk_score', sa.Integer(), nullable=False),
    sa.Column('danger_now', sa.Boolean(), nullable=False),
    sa.Column('indicators', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('risk_explanation', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('needs', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('answers', hotline.models.types.EncryptedJSON(), nullable=True),
    sa.Column('place_code', sa.String(length=32), nullable=True),
    sa.Column('region_code', sa.String(length=32), nullable=True),
    sa.Column('latitude', sa.Double(), nullable=True),
    sa.Column('longitude', sa.Double(), nullable=True),
    sa.Column('age_band', sa.String(length=16), nullable=True),
    sa.Column('sex', sa.String(length=16), nullable=True),
    sa.Column('consent_callback', sa.Boolean(), nullable=False),
    sa.Column('consent_police', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('simulated', sa.Boolean(), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('routing_explanation', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', hotline.models.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', hotline.models.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('anonymised_at', hotline.models.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_cases_conversation_id_conversations')),
    sa.ForeignKeyConstraint(['flow_version_id'], ['flow_versions.id'], name=op.f('fk_cases_flow_version_id_flow_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('reference', name=op.f('uq_cases_reference'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_status_risk', ['status', 'risk_level'], unique=False)

    op.create_table('inbound_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('gateway', sa.String(length=32), nullable=False),
    sa.Column('gateway_message_id', sa.String(length=128), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('body', hotline.models.types.EncryptedText(), nullable=True),
    sa.Column('to_address', sa.String(length=32), nullable=True),
    sa.Column('gateway_sent_at', hotline.models.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('received_at', hotline.models.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('processed_at', hotline.models.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_inbound_messages_contact_id_contacts')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_inbound_messages_conversation_id_conversations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_messages')),
    sa.UniqueConstraint('gateway', 'gateway_message_id', name=op.f('uq_inbound_messages_gateway_gateway_message_id'))
    )
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_messages_state_received', ['state', 'received_at'], unique=False)

    op.create_table('case_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('body', hotline.models.types.EncryptedText(), nullable=False),
    sa.Column('created_at', hotline.models.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_case_notes_author_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_notes_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_notes'))
    )
    with op.batch_alter_table('case_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_notes_case_id'), ['case_id'], unique=False)

    op.create_table('outbound_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('to_phone', hotline.models.types.EncryptedText(), nullable=False),
    sa.Column('to_hash', sa.String(length=64), nullable=False),
    sa.Column('body', hotline.models.types.EncryptedText(), nullable=True),
    sa.Column('encoding', sa.String(length=8), nullable=False),
    sa.Column('segments', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('in_reply_to_id', sa.Integer(), nullable=True),
    sa.Column('provider', sa.String(length=32), nullable=True),
    sa.Column('provider_message_id', sa.String(length=128), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('failure_reason', sa.String(length=255), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', hotline.models.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', hotline.models.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', hotline.models.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_outbound_messages_contact_id_contacts')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_outbound_messages_conversation_id_conversations')),
    sa.ForeignKeyConstraint(['in_reply_to_id'], ['inbound_messages.id'], name=op.f('fk_outbound_messages_in_reply_to_id_inbound_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_messages')),
    sa.UniqueConstraint('provider', 'provider_message_id', name=op.f('uq_outbound_messages_provider_provider_message_id'))
    )
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outbound_messages_state_created', ['state', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbound_messages_to_hash'), ['to_hash'], unique=False)

    op.create_table('referrals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('contact_position', sa.Integer(), nullable=False),
    sa.Column('providers_tried', sa.Integer(), nullable=False),
    sa.Column('ranked', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('alert_count', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('distance_km', sa.Double(), nullable=True),
    sa.Column('reason', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('escalated_from_id', sa.Integer(), nullable=True),
    sa.Column('decline_reason', hotline.models.types.EncryptedText(), nullable=True),
    sa.Column('deadline_at', hotline.models.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', hotline.models.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hotline.models.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_referrals_case_id_cases')),
    sa.ForeignKeyConstraint(['escalated_from_id'], ['referrals.id'], name=op.f('fk_referrals_escalated_from_id_referrals')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_referrals_provider_id_providers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals'))
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referrals_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index('ix_referrals_status_deadline', ['status', 'deadline_at'], unique=False)

    op.create_table('alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('provider_contact_id', sa.Integer(), nullable=True),
    sa.Column('outbound_message_id', sa.Integer(), nullable=True),
    sa.Column('created_at', hotline.models.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['outbound_message_id'], ['outbound_messages.id'], name=op.f('fk_alerts_outbound_message_id_outbound_messages')),
    sa.ForeignKeyConstraint(['provider_contact_id'], ['provider_contacts.id'], name=op.f('fk_alerts_provider_contact_id_provider_contacts')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_alerts_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alerts_referral_id'), ['referral_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alerts_referral_id'))

    op.drop_table('alerts')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_status_deadline')
        batch_op.drop_index(batch_op.f('ix_referrals_provider_id'))
        batch_op.drop_index(batch_op.f('ix_referrals_case_id'))

    op.drop_table('referrals')
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbound_messages_to_hash'))
        batch_op.drop_index('ix_outbound_messages_state_created')

    op.drop_table('outbound_messages')
    with op.batch_alter_table('case_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_notes_case_id'))

    op.drop_table('case_notes')
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_messages_state_received')

    op.drop_table('inbound_messages')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_status_risk')

    op.drop_table('cases')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_conversations_contact_status')
        batch_op.drop_index(batch_op.f('ix_conversations_case_reference'))

    op.drop_table('conversations')
    with op.batch_alter_table('flow_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flow_versions_flow_id'))

    op.drop_table('flow_versions')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_subject')
        batch_op.drop_index(batch_op.f('ix_audit_events_at'))

    op.drop_table('audit_events')
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_sessions_user_id'))

    op.drop_table('console_sessions')
    op.drop_table('users')
    with op.batch_alter_table('provider_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_provider_contacts_phone_hash'))

    op.drop_table('provider_contacts')
    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_providers_kind'))

    op.drop_table('providers')
    with op.batch_alter_table('durable_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_durable_jobs_state_due')

    op.drop_table('durable_jobs')
    op.drop_table('contacts')
