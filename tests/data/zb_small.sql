-- zb_small.sql: a tiny zb backend database (schema version 5), written by hand
-- from shared/spec/zb-format.md. It does not come from zbtui.demo, so tests of
-- the read-only layer do not only test our own generator.
--
-- Load it into a NEW file (the first pragma only works on an empty database):
--   sqlite3:  sqlite3.connect(path).executescript(sql)
--   apsw:     conn.execute(sql).fetchall()   (fetch: "pragma journal_mode"
--             returns a row, and apsw only runs the next statement once the
--             previous one's rows are consumed)
--
-- Reference time T0 = 1795440000000 ms = 2026-11-23 13:20:00 UTC (the same
-- frozen "now" as tests/conftest.py NOW_MS). Store directory /opt/zb/store
-- (nothing exists on disk: the store and log files are not part of the fixture).
--
-- Value conventions (so every value can be re-derived by hand):
--   * object N has digest = 32 copies of one nix-base32 character, id N;
--   * nar_hash of object N = SRI sha256 of 32 bytes of value N,
--     e.g. N=1 -> sha256-AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=;
--   * ca hash of object N  = nix-base32 of 32 bytes of value 0x80+N (zb's source
--     CA hash is never the NAR hash, spec §2), e.g. N=1 -> 10c1h60q30c1h60q…;
--   * drv hash id K has bits = 32 bytes of 0x11*K (1 -> 0x11…, 2 -> 0x22…, 3 -> 0x33…).
--
-- EXPECTED ANSWERS
--
-- Counts: paths 12, objects 10 (so 2 paths are known but absent: ids 11, 12),
--   references 14 (2 self-references: glibc and bash), drv_hashes 3,
--   realizations 4, reference_classes 6 rows / 5 DISTINCT, signature_public_keys 3,
--   signatures 7, builds 4, build_results 5, build_outputs 6, running_server 1.
--
-- Closure of the top object hello (id 5), object references only, start included:
--   hello, bash, readline, ncurses, glibc = 5 paths,
--   nar size 200000 + 5000000 + 900000 + 3000000 + 30000000 = 39100000.
--   The spec's closure.sql (references + reference classes, by path id) gives the
--   same 5 paths; with classes it yields e.g. glibc twice: with no class (object
--   edge) and with class (0x33…, out) (reference-class edge).
-- Closure of hello-2.12.1.drv (id 9): hello.drv, bash.drv, tarball, builder.sh
--   = 4 paths, 2300 + 2100 + 1200000 + 1024 = 1205424 bytes.
-- Closure of the ABSENT path bbbb…-hello-2.12.1 (id 11): allowed because it is a
--   realization output; only reference-class edges exist: {id 11, glibc} = 2 paths,
--   30000000 bytes of present objects.
-- Why does hello depend on ncurses? Shortest chain (bash does NOT refer to
--   ncurses directly): hello -> bash -> readline -> ncurses.
-- Referrers of glibc other than itself: ncurses, readline, bash, hello, zlib (5).
--
-- Realizations (key drv_hash, output_name, output_path):
--   R_glibc   (3, out, 1)   no reference classes (only a self-reference)
--   R_bash    (1, out, 4)   classes: readline -> NULL (source; row stored TWICE),
--                                    glibc -> (0x33…, out)
--   R_hello_a (2, out, 5)   classes: bash -> (0x11…, out), glibc -> (0x33…, out)
--   R_hello_b (2, out, 11)  classes: glibc -> (0x33…, out); output path ABSENT
--   (2, out) has two output paths: 5 (present) and 11 (absent).
--
-- Signatures, trusting only K1 (zb's own test-vector key, spec §3):
--   id 1  R_glibc   K1 valid                     -> trusted
--   id 2  R_bash    K1 valid                     -> trusted
--   id 3  R_bash    identical copy of id 2       -> trusted (duplicate; dedupe to 1)
--   id 4  R_hello_a K2 valid                     -> valid-untrusted
--   id 5  R_hello_a K1, first byte XOR 0x01      -> invalid
--   id 6  R_hello_b key format 'nonsense'        -> unsupported
--   id 7  R_hello_b NULL key, NULL signature     -> malformed
--   Best status per realization: R_glibc trusted, R_bash trusted,
--   R_hello_a valid-untrusted (a trusted-key row exists but does not verify),
--   R_hello_b none usable.
--
-- Builds (derived status per spec §1.8, find.sql):
--   B1 01a20822-5f00-7000-8000-000000000001  success  bash reused, hello built
--   B2 01a20859-4d80-7000-8000-000000000002  fail     hello: builder exit status 2
--   B3 01a2088f-51a0-7000-8000-000000000003  active   hello builder running (T0-60 s)
--   B4 01a1f91d-2800-7000-8000-000000000004  active in the DB, truly ORPHANED:
--      started 3 days before T0 by an older server (pre-04 result: drv_hash NULL),
--      results left 'active', builder never started, drv path absent (id 12).
--   With a live heartbeat a DB-only reader can only say "active or orphaned" for
--   B3 and B4; with no or a stale heartbeat both are orphaned.
--   Newest first by coalesce(ended_at, started_at): B3, B2, B1, B4.
--
-- Build logs (relative to the log directory; the fixture creates none):
--   B1: 01a2/01a20822-5f00-7000-8000-000000000001/99999999999999999999999999999999-hello-2.12.1.txt
--   B2: 01a2/01a20859-4d80-7000-8000-000000000002/99999999999999999999999999999999-hello-2.12.1.txt
--   B3: 01a2/01a2088f-51a0-7000-8000-000000000003/99999999999999999999999999999999-hello-2.12.1.txt
--   none for the reused bash result of B1, none for B4 (builder never ran).
--
-- running_server: ONE PLACEHOLDER ROW, running_as_of = T0 - 1000, i.e. alive
--   when the test's clock says T0 (alive means now - running_as_of < 10000).
--   A test that needs another state rewrites it:
--     delete from running_server;                                   -- clean stop
--     update running_server set running_as_of = :now - 3600000;     -- crashed

pragma auto_vacuum = incremental;
pragma journal_mode = wal;
pragma foreign_keys = on;

begin;

-- ---------------------------------------------------------------- schema (§1.4–1.5)

create table "paths" (
  "id" integer primary key not null,
  "path" text unique not null
);
create table "objects" (
  "id" integer primary key not null references "paths",
  "nar_size" integer not null check ("nar_size" > 0),
  "nar_hash" text,
  "ca" text
);
create table "references" (
  "referrer" integer not null references "objects" on delete cascade,
  "reference" integer not null references "objects" on delete restrict,
  primary key ("referrer", "reference")
) without rowid;
create index "back_references" on "references" ("reference");
create table "drv_hashes" (
  "id" integer primary key not null,
  "algorithm" text not null,
  "bits" blob not null,
  unique ("algorithm", "bits")
);
create table "realizations" (
  "drv_hash" integer not null references "drv_hashes",
  "output_name" text not null default 'out',
  "output_path" integer not null references "paths",
  primary key ("drv_hash", "output_name", "output_path")
) without rowid;
create index "realizations_by_output_path" on "realizations" ("output_path");
create table "reference_classes" (
  "id" integer primary key not null,
  "referrer" integer not null,
  "referrer_drv_hash" integer not null,
  "referrer_output_name" text not null,
  "reference" integer not null,
  "reference_drv_hash" integer references "drv_hashes",
  "reference_output_name" text,
  foreign key ("referrer_drv_hash", "referrer_output_name", "referrer")
    references "realizations" on delete cascade,
  foreign key ("reference_drv_hash", "reference_output_name", "reference")
    references "realizations" on delete restrict,
  check (("reference_drv_hash" is null) = ("reference_output_name" is null))
);
create index "reference_classes_by_realization"
  on "reference_classes" ("referrer_drv_hash", "referrer_output_name", "referrer");
create unique index "reference_classes_by_reference"
  on "reference_classes" ("referrer", "reference", "referrer_drv_hash",
                          "referrer_output_name", "reference_drv_hash", "reference_output_name");
create table "builds" (
  "id" integer primary key not null,
  "uuid" blob unique not null,
  "started_at" integer,
  "ended_at" integer,
  "internal_error" text,
  "expand_builder" text,
  "expand_args" text check ("expand_args" is null or json_type("expand_args") = 'array'),
  "expand_env" text check ("expand_env" is null or json_type("expand_env") = 'object')
);
create index "builds_by_time_desc" on "builds" (coalesce("ended_at", "started_at") desc, "uuid");
create table "build_results" (
  "id" integer primary key not null,
  "build_id" integer not null references "builds" on delete cascade,
  "drv_path" integer not null references "paths",
  "status" text not null default 'active',
  "started_at" integer,
  "builder_started_at" integer,
  "builder_ended_at" integer,
  "ended_at" integer,
  "drv_hash" integer references "drv_hashes",
  unique ("build_id", "drv_path")
);
create table "build_outputs" (
  "result_id" integer not null references "build_results" on delete cascade,
  "output_name" text not null default 'out',
  "output_path" integer references "paths",
  primary key ("result_id", "output_name")
) without rowid;
create table "signature_public_keys" (
  "id" integer primary key not null,
  "format" text not null,
  "public_key" blob not null,
  unique ("format", "public_key")
);
create table "signatures" (
  "id" integer primary key not null,
  "drv_hash" integer not null,
  "output_name" text not null,
  "output_path" integer not null,
  "public_key_id" integer references "signature_public_keys",
  "signature" blob,
  foreign key ("drv_hash", "output_name", "output_path")
    references "realizations" on delete cascade
);
create table "running_server" (
  "running_as_of" integer
);

-- ---------------------------------------------------------------- paths

insert into "paths" ("id", "path") values
  (1,  '/opt/zb/store/11111111111111111111111111111111-glibc-2.39'),
  (2,  '/opt/zb/store/22222222222222222222222222222222-ncurses-6.4'),
  (3,  '/opt/zb/store/33333333333333333333333333333333-readline-8.2'),
  (4,  '/opt/zb/store/44444444444444444444444444444444-bash-5.2p26'),
  (5,  '/opt/zb/store/55555555555555555555555555555555-hello-2.12.1'),
  (6,  '/opt/zb/store/66666666666666666666666666666666-hello-2.12.1.tar.gz'),
  (7,  '/opt/zb/store/77777777777777777777777777777777-builder.sh'),
  (8,  '/opt/zb/store/88888888888888888888888888888888-bash-5.2p26.drv'),
  (9,  '/opt/zb/store/99999999999999999999999999999999-hello-2.12.1.drv'),
  (10, '/opt/zb/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-zlib-1.3.1'),
  -- Known but absent: a second hello output from a binary cache (never
  -- downloaded), and the drv of the orphaned build B4 (deleted since).
  (11, '/opt/zb/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-hello-2.12.1'),
  (12, '/opt/zb/store/cccccccccccccccccccccccccccccccc-curl-8.7.1.drv');

-- ---------------------------------------------------------------- objects

insert into "objects" ("id", "nar_size", "nar_hash", "ca") values
  (1,  30000000, 'sha256-AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=',
       'fixed:r:sha256:10c1h60q30c1h60q30c1h60q30c1h60q30c1h60q30c1h60q30c1'),
  (2,  3000000,  'sha256-AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=',
       'fixed:r:sha256:10l2ha1850l2ha1850l2ha1850l2ha1850l2ha1850l2ha1850l2'),
  (3,  900000,   'sha256-AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=',
       'fixed:r:sha256:10w3hf1q70w3hf1q70w3hf1q70w3hf1q70w3hf1q70w3hf1q70w3'),
  (4,  5000000,  'sha256-BAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ=',
       'fixed:r:sha256:1144hj289144hj289144hj289144hj289144hj289144hj289144'),
  (5,  200000,   'sha256-BQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU=',
       'fixed:r:sha256:11c5hn2qb1c5hn2qb1c5hn2qb1c5hn2qb1c5hn2qb1c5hn2qb1c5'),
  -- A fetched tarball: flat fixed-output content address (no 'r:').
  (6,  1200000,  'sha256-BgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgY=',
       'fixed:sha256:11l6hs38d1l6hs38d1l6hs38d1l6hs38d1l6hs38d1l6hs38d1l6'),
  (7,  1024,     'sha256-BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=',
       'fixed:r:sha256:11w7hy3qg1w7hy3qg1w7hy3qg1w7hy3qg1w7hy3qg1w7hy3qg1w7'),
  -- Derivations are text-addressed.
  (8,  2100,     'sha256-CAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAg=',
       'text:sha256:1248i248i248i248i248i248i248i248i248i248i248i248i248'),
  (9,  2300,     'sha256-CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=',
       'text:sha256:12c9i64qk2c9i64qk2c9i64qk2c9i64qk2c9i64qk2c9i64qk2c9'),
  -- Present, referenced by nothing, no realization (e.g. imported).
  (10, 130000,   'sha256-CgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgo=',
       'fixed:r:sha256:12laia58m2laia58m2laia58m2laia58m2laia58m2laia58m2la');

-- ---------------------------------------------------------------- references

insert into "references" ("referrer", "reference") values
  (1, 1),                  -- glibc -> itself
  (2, 1),                  -- ncurses -> glibc
  (3, 2), (3, 1),          -- readline -> ncurses, glibc
  (4, 3), (4, 1), (4, 4),  -- bash -> readline, glibc, itself (NOT ncurses)
  (5, 4), (5, 1),          -- hello -> bash, glibc
  (8, 7),                  -- bash.drv -> builder.sh
  (9, 8), (9, 6), (9, 7),  -- hello.drv -> bash.drv, tarball, builder.sh
  (10, 1);                 -- zlib -> glibc

-- ---------------------------------------------------------------- drv hashes

insert into "drv_hashes" ("id", "algorithm", "bits") values
  (1, 'sha256', X'1111111111111111111111111111111111111111111111111111111111111111'), -- bash
  (2, 'sha256', X'2222222222222222222222222222222222222222222222222222222222222222'), -- hello
  (3, 'sha256', X'3333333333333333333333333333333333333333333333333333333333333333'); -- glibc

-- ---------------------------------------------------------------- realizations

insert into "realizations" ("drv_hash", "output_name", "output_path") values
  (3, 'out', 1),   -- R_glibc
  (1, 'out', 4),   -- R_bash
  (2, 'out', 5),   -- R_hello_a
  (2, 'out', 11);  -- R_hello_b: same (drv_hash, output_name), absent path

insert into "reference_classes" ("id", "referrer", "referrer_drv_hash", "referrer_output_name",
                                 "reference", "reference_drv_hash", "reference_output_name") values
  (1, 4, 1, 'out', 3, NULL, NULL),   -- bash: readline came in as a source
  (2, 4, 1, 'out', 3, NULL, NULL),   -- the same NULL row again (NULLs are distinct in the unique index)
  (3, 4, 1, 'out', 1, 3, 'out'),     -- bash: glibc from R_glibc
  (4, 5, 2, 'out', 4, 1, 'out'),     -- hello: bash from R_bash
  (5, 5, 2, 'out', 1, 3, 'out'),     -- hello: glibc from R_glibc
  (6, 11, 2, 'out', 1, 3, 'out');    -- absent hello: glibc from R_glibc
-- No rows for self-references (glibc, bash).

-- ---------------------------------------------------------------- signatures
-- K1 = zb's test-vector key (seed +NMDNfvjCmdT9mLr9zadYQXwF/mPLsToMw36yX7w6HA=),
--      public lQkivSdlrDBjwgE/VNmPefTRYAH3Yklhkb1m12JRlHA=
-- K2 = seed of 32 bytes 0x42, public IVL40Zt5HSRFMkLhXy6rbLfP+ntqXtMAl5YOBpiB2xI=
-- K3 = format 'nonsense', key = the ASCII bytes "nonsense"
--
-- Signed messages (RFC 8785 JSON, spec §3; reference classes DISTINCT and sorted
-- by path, null realization first):
-- R_glibc:
--   {"derivationHash":{"algorithm":"sha256","digest":"MzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzM="},"outputName":"out","outputPath":"/opt/zb/store/11111111111111111111111111111111-glibc-2.39","referenceClasses":[]}
-- R_bash:
--   {"derivationHash":{"algorithm":"sha256","digest":"ERERERERERERERERERERERERERERERERERERERERERE="},"outputName":"out","outputPath":"/opt/zb/store/44444444444444444444444444444444-bash-5.2p26","referenceClasses":[{"path":"/opt/zb/store/11111111111111111111111111111111-glibc-2.39","realization":{"derivationHash":{"algorithm":"sha256","digest":"MzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzM="},"outputName":"out"}},{"path":"/opt/zb/store/33333333333333333333333333333333-readline-8.2","realization":null}]}
-- R_hello_a:
--   {"derivationHash":{"algorithm":"sha256","digest":"IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI="},"outputName":"out","outputPath":"/opt/zb/store/55555555555555555555555555555555-hello-2.12.1","referenceClasses":[{"path":"/opt/zb/store/11111111111111111111111111111111-glibc-2.39","realization":{"derivationHash":{"algorithm":"sha256","digest":"MzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzM="},"outputName":"out"}},{"path":"/opt/zb/store/44444444444444444444444444444444-bash-5.2p26","realization":{"derivationHash":{"algorithm":"sha256","digest":"ERERERERERERERERERERERERERERERERERERERERERE="},"outputName":"out"}}]}
-- R_hello_b:
--   {"derivationHash":{"algorithm":"sha256","digest":"IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI="},"outputName":"out","outputPath":"/opt/zb/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-hello-2.12.1","referenceClasses":[{"path":"/opt/zb/store/11111111111111111111111111111111-glibc-2.39","realization":{"derivationHash":{"algorithm":"sha256","digest":"MzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzM="},"outputName":"out"}}]}

insert into "signature_public_keys" ("id", "format", "public_key") values
  (1, 'ed25519',  X'950922bd2765ac3063c2013f54d98f79f4d16001f762496191bd66d762519470'), -- K1
  (2, 'ed25519',  X'2152f8d19b791d24453242e15f2eab6cb7cffa7b6a5ed30097960e069881db12'), -- K2
  (3, 'nonsense', X'6e6f6e73656e7365');                                                 -- K3

insert into "signatures" ("id", "drv_hash", "output_name", "output_path", "public_key_id", "signature") values
  -- 1: R_glibc, K1, valid -> trusted
  (1, 3, 'out', 1, 1, X'e36c0acb7e54aee0d0018d39782002819da55da36c238961bbf485096dc8a058b7b64895e251cae0b59af7cd989023a9bb2a62e9e609ecb2b669efb4580d4406'),
  -- 2: R_bash, K1, valid -> trusted
  (2, 1, 'out', 4, 1, X'0188be46170619087c3c72b4f9dabdf5d0663648fe7918de094ee9e1ed5d0045e0b6ecd5a65b4b9635319aef969ccaffd479aef034eceb99f596ecde26216806'),
  -- 3: identical duplicate of 2 (signatures has no unique constraint)
  (3, 1, 'out', 4, 1, X'0188be46170619087c3c72b4f9dabdf5d0663648fe7918de094ee9e1ed5d0045e0b6ecd5a65b4b9635319aef969ccaffd479aef034eceb99f596ecde26216806'),
  -- 4: R_hello_a, K2, valid -> valid-untrusted
  (4, 2, 'out', 5, 2, X'fda5ab40e0e304dcfbd1aa823d4965d0f6d70a446ab62e4844940ce5dd9035f4eb8752aa969d3ed9818ee9a72a7fe974d47584a864de3403f82058b172121006'),
  -- 5: R_hello_a, K1, the valid signature 49f640e3… with its first byte XOR 0x01 -> invalid
  (5, 2, 'out', 5, 1, X'48f640e3f8bb6087d534d944b24a5725b4022f86a1c40e2302e17b611f60f789ef93cbb071fde34be998add30c1684f3dd0170513d05e86184c7b0034ce18506'),
  -- 6: R_hello_b, unknown format -> unsupported (not invalid)
  (6, 2, 'out', 11, 3, X'deadbeef'),
  -- 7: R_hello_b, NULL key and signature (the schema allows it) -> malformed
  (7, 2, 'out', 11, NULL, NULL);

-- ---------------------------------------------------------------- builds
-- UUIDv7: the first 48 bits are the start time in ms (01a20822-5f00 = T0 - 2 h).

insert into "builds" ("id", "uuid", "started_at", "ended_at", "internal_error",
                      "expand_builder", "expand_args", "expand_env") values
  (1, X'01a208225f0070008000000000000001', 1795432800000, 1795432830500, NULL, NULL, NULL, NULL),
  (2, X'01a208594d8070008000000000000002', 1795436400000, 1795436412400, NULL, NULL, NULL, NULL),
  (3, X'01a2088f51a070008000000000000003', 1795439940000, NULL,          NULL, NULL, NULL, NULL),
  (4, X'01a1f91d280070008000000000000004', 1795180800000, NULL,          NULL, NULL, NULL, NULL);

insert into "build_results" ("id", "build_id", "drv_path", "status", "started_at",
                             "builder_started_at", "builder_ended_at", "ended_at", "drv_hash") values
  -- B1: bash reused (no builder, no log), then hello built for 30 s.
  (1, 1, 8, 'success', 1795432800100, NULL,          NULL,          1795432800150, 1),
  (2, 1, 9, 'success', 1795432800200, 1795432800300, 1795432830300, 1795432830400, 2),
  -- B2: hello's builder exited non-zero after 12 s.
  (3, 2, 9, 'fail',    1795436400100, 1795436400200, 1795436412200, 1795436412300, 2),
  -- B3: hello's builder has been running since T0 - 59.8 s.
  (4, 3, 9, 'active',  1795439940100, 1795439940200, NULL,          NULL,          2),
  -- B4: orphan from an older server: never got to its builder; pre-04 row, drv_hash NULL.
  (5, 4, 12, 'active', 1795180800100, NULL,          NULL,          NULL,          NULL);

insert into "build_outputs" ("result_id", "output_name", "output_path") values
  (1, 'out', 4),
  (2, 'out', 5),
  (3, 'out', NULL),   -- not produced
  (4, 'out', NULL),   -- placeholder while active
  (5, 'out', NULL),   -- placeholders left behind by the crash
  (5, 'dev', NULL);

-- ---------------------------------------------------------------- heartbeat
-- PLACEHOLDER: T0 - 1000 (alive at T0). Tests rewrite or delete it as needed.
insert into "running_server" ("running_as_of") values (1795439999000);

commit;

pragma user_version = 5;
pragma application_id = 0;
