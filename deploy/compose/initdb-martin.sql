-- compose.yaml only, on a new data volume: the login roles Martin and tiles-auth connect
-- with, with the development passwords compose.yaml uses. What each may do is granted by
-- migration 0005.tile_roles (Martin: execute the tile functions, read no table; tiles-auth:
-- read route owners), which also creates them, without a password, where they are missing.
-- A volume made before 0005: see docs/operations.md (Database roles).
CREATE ROLE martin_ro LOGIN PASSWORD 'martin-ro';
CREATE ROLE tiles_auth_ro LOGIN PASSWORD 'tiles-auth-ro';
