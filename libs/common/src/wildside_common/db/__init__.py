"""Database schema: plain SQL migrations applied by yoyo-migrations."""
