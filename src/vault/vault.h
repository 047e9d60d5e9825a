/*
 * vault.h — a party's vault: one SQLite database, sealed whole in one file
 * (DIR/vault.pv, mode 0600, DIR 0700; vault_file.c), holding identity,
 * prekeys, contacts, ratchet sessions, the transcript, the outbox and the
 * relay state. Nothing of it is on disk in clear, and a file changed
 * without the passphrase does not open.
 *
 * Secrets at rest: a key-encryption key is derived from the passphrase with
 * Argon2id (crypto_pwhash, parameters and salt in the file's header), which
 * wraps the vault's random data key (so a new passphrase rewrites only the
 * header). Besides the seal of the whole file, every
 * secret column (identity secret key, prekey secrets, session states, item
 * bodies, contacts' access tokens, our own token) is sealed with
 * XChaCha20-Poly1305 under the data key, with the column's purpose and row identity as
 * associated data so a blob cannot be moved to another row. Nothing secret is
 * ever written in clear, and a wrong passphrase is detected by the data key
 * (or, in an old vault, the key-check record) failing to open.
 *
 * Every multi-step change happens between pl_vault_begin and
 * pl_vault_commit; a crash leaves the old state or the new one.
 */
#ifndef PARLEY_VAULT_VAULT_H
#define PARLEY_VAULT_VAULT_H

#include <stddef.h>
#include <stdint.h>

#include "identity/identity.h"
#include "util/err.h"
#include "util/wire.h"

#define PL_NAME_MAX 64 /* contact and party names: 1..64 bytes UTF-8, no control chars */
#define PL_URL_MAX 512
#define PL_TOKEN_LEN 32

typedef struct pl_vault pl_vault;

/* Creates DIR (0700) and DIR/vault.pv (0600) with a fresh identity, signed
 * prekey and one-time prekeys. Refuses (PL_EXIT_VAULT) if a vault exists.
 * relay_ca may be NULL (system store); it is PEM bytes copied into the vault. */
int pl_vault_create(const char *dir, const char *name, const char *relay_url,
		    const uint8_t *relay_ca, size_t relay_ca_len, const char *pass, size_t passlen,
		    pl_err *e);

/* How costly a new passphrase is to derive. STRONG (256 MiB, 3 passes) is
 * what pl_vault_create always uses. TEST_ONLY (64 MiB, 2 passes) exists so
 * that test suites making dozens of vaults stay fast; it must never be
 * chosen for a real vault, and only an explicit caller can choose it. */
/* TEST_ONLY: libsodium's INTERACTIVE (64 MiB, 2 passes); TEST_MINIMAL:
 * its minimum (8 KiB, 1 pass), for test suites that run thousands of
 * commands. Neither is ever chosen without PARLEY_TEST_KDF. */
typedef enum {
	PL_VAULT_KDF_STRONG = 0,
	PL_VAULT_KDF_TEST_ONLY = 1,
	PL_VAULT_KDF_TEST_MINIMAL = 2
} pl_vault_kdf_cost;
/* pl_vault_create at the given cost. */
int pl_vault_create_cost(const char *dir, const char *name, const char *relay_url,
			 const uint8_t *relay_ca, size_t relay_ca_len, const char *pass,
			 size_t passlen, pl_vault_kdf_cost cost, pl_err *e);
/* Puts the vault under a new passphrase (with a fresh salt, at cost): one
 * transaction rewrites the parameter record and the sealed data key, so
 * after a crash exactly one of the old and the new passphrase opens it.
 * The data key itself is unchanged: a copy of the vault taken before the
 * change still opens with the old passphrase. Refuses a weak passphrase. */
int pl_vault_passphrase_change(pl_vault *v, const char *pass, size_t passlen,
			       pl_vault_kdf_cost cost, pl_err *e);

/* --- passphrase strength (vault_pass.c) ----------------------------------
 * A deliberately simple estimate that catches the obvious failures, not a
 * dictionary attack: each byte adds log2 of the size of the character
 * classes present (lower 26, upper 26, digits 10, other ASCII incl. space
 * 33, non-ASCII 128, a UTF-8 continuation byte 0), except that a byte equal
 * to the one before it or next to it in code order (aa, ab, ba, 12) adds
 * only 1 bit. It cannot see that a phrase is a common quotation or a word
 * with digits appended; a generated passphrase has no such weakness. */
#define PL_PASS_MIN_LEN 12
#define PL_PASS_MIN_BITS 50
/* Estimated bits of p[0..n), rounded down. */
unsigned pl_passphrase_bits(const char *p, size_t n);
/* 0 if p is at least PL_PASS_MIN_LEN bytes and PL_PASS_MIN_BITS bits, else
 * -1 with PL_EXIT_USAGE and what would be accepted. */
int pl_passphrase_check(const char *p, size_t n, pl_err *e);
/* Where the generator's words come from (Debian's wamerican). */
#define PL_WORDS_PATH "/usr/share/dict/words"
/* Writes into out (cap bytes, NUL-terminated) words chosen uniformly with
 * randombytes_uniform from the lines of the file words that are 3 to 8
 * letters a-z, joined by '-': at least 6 words and as many more as 64 bits
 * need. *nwords, *listlen and *bits (rounded down) say what was drawn. */
int pl_passphrase_generate(char *out, size_t cap, const char *words, unsigned *nwords,
			   unsigned *listlen, unsigned *bits, pl_err *e);
/* 1 if DIR holds a vault file (even a damaged one), else 0: lets a caller
 * tell "nothing here yet" from a vault that fails to open. */
int pl_vault_exists(const char *dir);
/* 1 if this open converted an unsealed vault of an earlier version (its
 * DIR/vault.db, now wiped) to the sealed file DIR/vault.pv. */
int pl_vault_converted(const pl_vault *v);
/* Opens and unlocks; wrong passphrase or missing vault → PL_EXIT_VAULT.
 * An open vault holds DIR/vault.lock exclusively until it is closed: one
 * process (one handle) at a time reads and changes the vault, so two
 * commands can never both load one ratchet state. Another open waits for
 * it at most PL_VAULT_LOCK_WAIT_MS (the passphrase is derived meanwhile),
 * then fails (PL_EXIT_VAULT) naming the process that holds the vault. */
#define PL_VAULT_LOCK_WAIT_MS 30000
#define PL_VAULT_LOCK_CMD_MAX 32
typedef struct {
	const char *cmd;  /* what the holder is doing, [a-z-]{1,32}, e.g. "send"; NULL: "parley" */
	unsigned wait_ms; /* longest wait for the lock; 0: PL_VAULT_LOCK_WAIT_MS */
} pl_vault_open_opts;
int pl_vault_open(pl_vault **out, const char *dir, const char *pass, size_t passlen, pl_err *e);
int pl_vault_open_ex(pl_vault **out, const char *dir, const char *pass, size_t passlen,
		     const pl_vault_open_opts *o, pl_err *e);
void pl_vault_close(pl_vault *v); /* wipes keys, releases the lock */

/* The holder line of DIR/vault.lock, "PID START CMD\n" (decimal pid > 0,
 * decimal Unix time, CMD as in pl_vault_open_opts); -1 for anything else. */
typedef struct {
	long pid;
	uint64_t start;
	char cmd[PL_VAULT_LOCK_CMD_MAX + 1];
} pl_vault_lock_holder;
int pl_vault_lock_holder_parse(pl_vault_lock_holder *h, const uint8_t *p, size_t n);

int pl_vault_begin(pl_vault *v, pl_err *e); /* BEGIN IMMEDIATE */
int pl_vault_commit(pl_vault *v, pl_err *e);
void pl_vault_rollback(pl_vault *v);

/* A batch: many changes that each begin, commit or roll back as usual,
 * held in one outer transaction that reaches the disk once, at
 * pl_vault_batch_end (every commit seals and writes the whole vault file).
 * Inside it pl_vault_begin opens a savepoint, pl_vault_commit releases it
 * and pl_vault_rollback undoes only it (nothing when none is open). A
 * crash before the end loses the whole batch, so a caller uses it only
 * where that is safe: nothing that depends on the batch may leave the
 * process before it ends (client/receive.c: envelopes are acknowledged to
 * the relay only after). _end commits what the changes committed (ok) or
 * drops it all (!ok); either way the batch is over. */
int pl_vault_batch_begin(pl_vault *v, pl_err *e);
int pl_vault_batch_end(pl_vault *v, int ok, pl_err *e);

/* --- identity and relay ------------------------------------------------ */
const pl_identity *pl_vault_identity(const pl_vault *v);
const char *pl_vault_name(const pl_vault *v);
const char *pl_vault_relay_url(const pl_vault *v);
/* Records a new address for the same relay; the caller has checked that it
 * serves the pinned relay key. */
int pl_vault_set_relay_url(pl_vault *v, const char *url, pl_err *e);
/* Whether the owner allowed plain http:// to a relay that is not on this
 * computer (the access token in each deposit's path then crosses the
 * network readable). Off unless pl_vault_allow_relay_plain_http said so. */
int pl_vault_relay_plain_http(const pl_vault *v);
int pl_vault_allow_relay_plain_http(pl_vault *v, pl_err *e);
/* The SOCKS proxy every connection to the relay goes through (e.g.
 * socks5h://127.0.0.1:9050 for Tor), or NULL for a direct connection: the
 * one this run chose with pl_vault_use_proxy if any ("none" = direct),
 * else the one stored with pl_vault_set_relay_proxy. The vault checks only
 * that it is printable text; the client checks the scheme before storing
 * or using it. */
const char *pl_vault_relay_proxy(const pl_vault *v);
/* Stores url (NULL forgets it). */
int pl_vault_set_relay_proxy(pl_vault *v, const char *url, pl_err *e);
/* For this run only, nothing stored; NULL or "" = the stored one. */
int pl_vault_use_proxy(pl_vault *v, const char *url, pl_err *e);
/* PEM bytes given at init, or NULL/0. */
void pl_vault_relay_ca(const pl_vault *v, const uint8_t **pem, size_t *len);
/* Relay's Ed25519 key, pinned on first contact (trust on first use). */
int pl_vault_relay_key(const pl_vault *v, uint8_t pk[static 32]); /* -1 if not pinned yet */
int pl_vault_set_relay_key(pl_vault *v, const uint8_t pk[static 32], pl_err *e);

/* Moves this vault's mailbox to another relay, in one transaction: every
 * contact that lived on the old relay is recorded as still living there
 * (its mailbox did not move); a contact already on the new one becomes
 * "ours" again; the new URL, key and CA (NULL: system store) are pinned;
 * the old relay's checkpoints go to the history (its evidence stays) and
 * the per-relay state starts over (receipts proved, last_seq,
 * log_scanned, ack_scanned, published bundle, token, grants and one-time prekeys), so
 * the next publish puts everything on the new relay. */
int pl_vault_relay_move(pl_vault *v, const char *url, const uint8_t key[static 32],
			const uint8_t *ca, size_t calen, int plain_http, pl_err *e);
/* 1 if the vault holds evidence against the relay with this key (it
 * contradicted itself), 0 if not, -1 on error. */
int pl_vault_relay_caught(pl_vault *v, const uint8_t key[static 32]);

/* Small named counters and flags (e.g. "bundle_published", "last_seq"). */
uint64_t pl_vault_get_u64(pl_vault *v, const char *key, uint64_t dflt);
int pl_vault_set_u64(pl_vault *v, const char *key, uint64_t val, pl_err *e);

/* Forgets the contact NAME (NOTFOUND if none) and everything of it: its
 * items and outbox, case links and sessions, in one transaction. Our own
 * access token, which the contact holds, is replaced by a new one (to be
 * registered and granted to every other contact at the next publish), so
 * the removed contact can no longer deposit. The caller decides whether a
 * transcript may be forgotten. */
int pl_vault_contact_remove(pl_vault *v, const char *name, pl_err *e);
/* Renames contact from to `to` (free, valid): its items (sealed again under
 * the new name), outbox and case links follow, in one transaction. The
 * name is local: nothing is sent. */
int pl_vault_contact_rename(pl_vault *v, const char *from, const char *to, pl_err *e);
/* Our mailbox access token (random, made at create). */
int pl_vault_own_token(pl_vault *v, uint8_t token[static PL_TOKEN_LEN], pl_err *e);

/* --- prekeys -------------------------------------------------------------- */
typedef struct {
	uint32_t id;
	uint8_t pk[32];
	uint8_t sk[32]; /* wiped by the caller after use */
} pl_prekey;

int pl_vault_spk_current(pl_vault *v, pl_prekey *out, pl_err *e);
int pl_vault_spk_get(pl_vault *v, uint32_t id, pl_prekey *out, pl_err *e); /* current or older */
/* Public one-time prekeys not yet published (at most max); returns count or -1. */
int pl_vault_opk_unpublished(pl_vault *v, pl_prekey *out, int max, pl_err *e);
int pl_vault_opk_mark_published(pl_vault *v, uint32_t up_to_id, pl_err *e);
int pl_vault_opk_get(pl_vault *v, uint32_t id, pl_prekey *out, pl_err *e); /* NOTFOUND if used */
int pl_vault_opk_delete(pl_vault *v, uint32_t id, pl_err *e);
/* Makes n more one-time prekeys (unpublished), 1 <= n <= PL_VAULT_OPK_GENERATE_MAX.
 * Ids are never reused, even after a prekey is deleted. */
#define PL_VAULT_OPK_GENERATE_MAX 1000
int pl_vault_opk_generate(pl_vault *v, int n, pl_err *e);
/* When fewer than `low` one-time prekeys are left, makes enough new ones to
 * have `target`; *made says how many (0 when enough were left). "Left" is
 * the relay's count when relay_left >= 0 (from a mailbox listing: anyone
 * may take prekeys with GET /v1/bundle, and a taken one stays in the vault
 * until a first message uses it), else the vault's (-1; published or not,
 * a used one is deleted). The new ones are unpublished: the next
 * pl_msgr_publish uploads them. Then at most `keep` stay in the vault, the
 * oldest published ones forgotten first and unpublished ones never: a peer
 * that took one of those and never wrote cannot start a session with it,
 * but an attacker draining the relay cannot make the vault grow without
 * bound. */
int pl_vault_opk_top_up(pl_vault *v, int relay_left, int low, int target, int keep, int *made,
			pl_err *e);
/* Makes a new signed prekey (id = highest + 1) that becomes the current one;
 * older ones stay reachable through pl_vault_spk_get. */
int pl_vault_spk_rotate(pl_vault *v, uint32_t *new_id, pl_err *e);
/* Scheduled rotation: when the current signed prekey is max_age seconds old
 * at `now`, makes a new one (*rotated = 1: publish the bundle again); and
 * deletes every older one created more than `keep` seconds before now. */
int pl_vault_spk_refresh(pl_vault *v, uint64_t now, uint64_t max_age, uint64_t keep, int *rotated,
			 pl_err *e);
/* After a restore or a put-back copy: a new signed prekey with id
 * highest + spk_jump (the current one from now on) and the one-time prekey
 * counter moved on by opk_jump before a fresh set is made, so that no new
 * id can be one an older copy of this vault made since. *spk_id: the new
 * signed prekey's id. */
int pl_vault_prekeys_jump(pl_vault *v, uint32_t spk_jump, uint32_t opk_jump, uint32_t *spk_id,
			  pl_err *e);

/* --- contacts ------------------------------------------------------------- */
typedef struct {
	char name[PL_NAME_MAX + 1];
	uint8_t ik[PL_IK_LEN];
	int verified;	     /* safety number compared and confirmed */
	int key_changed;     /* ik replaced since last verify: blocks sending */
	int grant_published; /* our token has been granted to them on the relay */
	int has_token;	     /* we hold their mailbox token */
	uint8_t token[PL_TOKEN_LEN];
	uint64_t added;
	/* Where its mailbox lives when that is not our relay: set when we
	 * moved away from a relay we shared, or when it told us it moved
	 * (a signed relay notice). Deposits and prekey fetches for it go
	 * there, receipts checked under relay_key. */
	int has_relay;
	char relay_url[PL_URL_MAX + 1];
	uint8_t relay_key[32];
	uint64_t relay_time; /* time of the newest relay notice applied; 0 none */
	uint64_t revoked;    /* when its owner's revocation was applied here; 0 never */
	/* When an introduction of this key was made by a contact that is
	 * still verified in person, not changed, not revoked (read from the
	 * introduction record, vault_intros.c; not a column); 0 none. */
	uint64_t introduced;
} pl_contact;

int pl_vault_contact_get(pl_vault *v, const char *name, pl_contact *c, pl_err *e); /* NOTFOUND */
int pl_vault_contact_by_ik(pl_vault *v, const uint8_t ik[static PL_IK_LEN], pl_contact *c,
			   pl_err *e); /* NOTFOUND */
/* Inserts or replaces the row for c->name (token stored sealed). */
int pl_vault_contact_put(pl_vault *v, const pl_contact *c, pl_err *e);
/* All contacts ordered by name; *out malloc'd array (caller wipes+frees). */
int pl_vault_contact_list(pl_vault *v, pl_contact **out, size_t *n, pl_err *e);
/* Records where the mailbox of contact NAME lives: url NULL means on our
 * relay (key and ca ignored); ca may be NULL (system store). time is the
 * notice's time (the replay mark) and is kept whatever url is. */
int pl_vault_contact_set_relay(pl_vault *v, const char *name, const char *url,
			       const uint8_t key[static 32], const uint8_t *ca, size_t calen,
			       uint64_t time, pl_err *e);
/* The CA pinned for the contact's relay: pem->n == 0 when none. */
int pl_vault_contact_relay_ca(pl_vault *v, const char *name, pl_wr *pem, pl_err *e);
/* Revoked identity keys (client/revoke.h checks the statement first): when
 * the revocation of ik was applied here, 0 if never (or unreadable, which
 * the caller cannot tell apart: a failed read is reported by the next
 * write). Keyed by the key, not by a contact, so removing and adding the
 * contact again does not bring the key back; this vault's own key is
 * recorded the same way. Recording keeps the first time. */
uint64_t pl_vault_ik_revoked(pl_vault *v, const uint8_t ik[static PL_IK_LEN]);
int pl_vault_ik_revoke(pl_vault *v, const uint8_t ik[static PL_IK_LEN], uint64_t time, pl_err *e);

/* --- identity rotation (client/rotate.h) --------------------------------- */
/* This vault's next identity and the signed statement announcing it
 * (made by the caller), stored sealed before anything is sent; the
 * identity in use is unchanged until pl_vault_identity_switch. Inside or
 * outside a transaction. */
int pl_vault_identity_next_put(pl_vault *v, const pl_identity *next, const uint8_t *stmt, size_t n,
			       pl_err *e);
/* The stored next identity (*found = 1) and its statement (at most max
 * bytes, into a fresh stmt), or *found = 0. */
int pl_vault_identity_next(pl_vault *v, pl_identity *next, pl_wr *stmt, size_t max, int *found,
			   pl_err *e);
/* In one transaction of its own: the next identity becomes this vault's
 * identity (its seed overwrites the old one's; the old public key is kept
 * as history with time), every ratchet session is dropped (new messages
 * start new X3DH sessions under the new key), the per-mailbox state
 * starts over (last_seq, log_scanned, bundle, token registration, grants)
 * and a new signed prekey and 20 new one-time prekeys are made, for the
 * next publish to put under the new key's mailbox. The sealed records stay
 * bound to the vault's first key (meta "seal_ik"). Memory follows only
 * after the commit. */
int pl_vault_identity_switch(pl_vault *v, uint64_t time, pl_err *e);
/* 1 if ik was this vault's identity before a rotation, 0 if not, -1 error. */
int pl_vault_identity_history(pl_vault *v, const uint8_t ik[static PL_IK_LEN], pl_err *e);

/* A contact's rotation this vault applied, keyed by the old key. */
#define PL_ROT_OLD_VERIFIED 1u /* the old key was verified when it was applied */
#define PL_ROT_CONFLICT 2u     /* the old key signed two different rotations */
#define PL_ROT_VOID 4u	       /* the old key was revoked: the rotation is void */
typedef struct {
	uint8_t old_ik[PL_IK_LEN];
	uint8_t new_ik[PL_IK_LEN];
	unsigned flags;	  /* PL_ROT_* */
	uint64_t time;	  /* the statement's time */
	uint64_t applied; /* when this vault applied it */
	uint64_t trusted; /* when the user accepted it (contact trust-rotation); 0 not */
} pl_rotation_rec;
/* Inserts or replaces the record of r->old_ik. */
int pl_vault_rotation_put(pl_vault *v, const pl_rotation_rec *r, pl_err *e);
/* 1 found (into *r), 0 none, -1 error: by old key, or by new key. */
int pl_vault_rotation_get(pl_vault *v, const uint8_t old[static PL_IK_LEN], pl_rotation_rec *r,
			  pl_err *e);
int pl_vault_rotation_to(pl_vault *v, const uint8_t new_ik[static PL_IK_LEN], pl_rotation_rec *r,
			 pl_err *e);

/* --- introductions (client/introduce.h) ---------------------------------- */
/* The introduction this vault accepted for a key, keyed by the introduced
 * key: who made it (its key, and its name here when it came), the signed
 * statement, and whether its name was another contact's (a clash). */
#define PL_INTRO_REC_NAME_CLASH 1u
#define PL_INTRO_REC_STMT_MAX 1024
typedef struct {
	uint8_t introduced_ik[PL_IK_LEN];
	uint8_t introducer_ik[PL_IK_LEN];
	char introducer_name[PL_NAME_MAX + 1];
	unsigned flags;	  /* PL_INTRO_REC_* */
	uint64_t time;	  /* the statement's time */
	uint64_t applied; /* when this vault accepted it */
	size_t stmt_len;
	uint8_t stmt[PL_INTRO_REC_STMT_MAX];
} pl_intro_rec;
/* Inserts or replaces the record of r->introduced_ik. */
int pl_vault_intro_put(pl_vault *v, const pl_intro_rec *r, pl_err *e);
/* 1 found (into *r), 0 none, -1 error. */
int pl_vault_intro_get(pl_vault *v, const uint8_t ik[static PL_IK_LEN], pl_intro_rec *r, pl_err *e);
/* When the introduction of ik was made, if one is recorded and its
 * introducer is still a contact verified in person, unchanged and not
 * revoked; else 0 (also on a read error, which the next write reports). */
uint64_t pl_vault_intro_vouched(pl_vault *v, const uint8_t ik[static PL_IK_LEN]);

/* --- sessions (at most a few per contact; newest first) ------------------- */
typedef struct {
	int64_t rowid;	       /* 0 for a new session */
	uint8_t ik[PL_IK_LEN]; /* contact's identity key */
	uint8_t ad[64];	       /* X3DH associated data */
	int initiator;	       /* we started it: keep sending prekey headers until a reply */
	int replied;	       /* a message has arrived on it */
	uint8_t ek[32];	       /* initiator's ephemeral key (identifies the X3DH run) */
	uint32_t spk_id, opk_id;
	uint64_t used; /* last use (unix s) */
	pl_wr state;   /* pl_ratchet_save bytes (plaintext in memory only) */
} pl_session_rec;

/* Loads all sessions with ik, newest used first; caller frees with
 * pl_vault_sessions_free. */
int pl_vault_sessions_load(pl_vault *v, const uint8_t ik[static PL_IK_LEN], pl_session_rec **out,
			   size_t *n, pl_err *e);
void pl_vault_sessions_free(pl_session_rec *s, size_t n);
/* Inserts (rowid 0, then set) or updates; keeps at most 3 per contact. */
int pl_vault_session_save(pl_vault *v, pl_session_rec *s, pl_err *e);

/* --- proximity talks (client/via.h) -------------------------------------- */
/* Our own item `id` travels through the mediator with this key; handed:
 * when it was queued. Inside the caller's transaction. */
int pl_vault_via_put(pl_vault *v, const uint8_t id[static 8],
		     const uint8_t mediator[static PL_IK_LEN], uint64_t handed, pl_err *e);
/* 1 (mediator and *handed set) if our item `id` went through a mediator, 0
 * if not, -1 on error. handed may be NULL. */
int pl_vault_via_get(pl_vault *v, const uint8_t id[static 8], uint8_t mediator[static PL_IK_LEN],
		     uint64_t *handed, pl_err *e);

/* Deletes item seq (1 deleted, 0 not: queued or in the outbox), inside the
 * caller's transaction: a note carried or forwarded by a mediator, purged
 * with the notes (client/via.h pl_via_purge_notes). */
int pl_vault_via_item_delete(pl_vault *v, int64_t seq, pl_err *e);

/* --- blind matches (vault_match.c, client/match.h) ----------------------- */
#define PL_VAULT_MATCH_ID_LEN 16
#define PL_VAULT_MATCH_REC_MAX ((size_t)200 << 20)
/* Puts (inserts or replaces) the record of match id: 0 or -1. */
int pl_vault_match_put(pl_vault *v, const uint8_t id[static PL_VAULT_MATCH_ID_LEN],
		       const uint8_t *rec, size_t n, pl_err *e);
/* Reads it into *out (initialised here; free with pl_wr_free): 1 found,
 * 0 absent, -1 error. */
int pl_vault_match_get(pl_vault *v, const uint8_t id[static PL_VAULT_MATCH_ID_LEN], pl_wr *out,
		       pl_err *e);

/* --- items: the transcript ------------------------------------------------ */
enum { PL_DIR_OUT = 0, PL_DIR_IN = 1 };
typedef struct {
	int64_t seq; /* local order */
	uint8_t id[8];
	char contact[PL_NAME_MAX + 1];
	int dir;
	int kind;
	uint64_t time;
	char state[16]; /* queued, sent, delivered, received, ... */
	pl_wr body;	/* plaintext in memory only */
	int has_receipt;
	pl_wr receipt;
} pl_item;

/* Inserts and sets it->seq: 0; 1 (nothing written) if an item with the same
 * (contact, id, dir) exists, i.e. a duplicate delivery; -1 on error. */
int pl_vault_item_add(pl_vault *v, pl_item *it, pl_err *e);
/* 1 if the vault holds an item with this id under another contact or
 * direction than (contact, dir), 0 if not, -1 on error. An id names one
 * item: a received item that reuses the id of one we hold is refused, or
 * the other side could make ours impossible to find. */
int pl_vault_item_id_taken(pl_vault *v, const uint8_t id[static 8], const char *contact, int dir,
			   pl_err *e);
int pl_vault_item_set_state(pl_vault *v, int64_t seq, const char *state, const uint8_t *receipt,
			    size_t receiptlen, pl_err *e);
int pl_vault_item_list(pl_vault *v, const char *contact, pl_item **out, size_t *n, pl_err *e);
int pl_vault_item_get(pl_vault *v, int64_t seq, pl_item *it, pl_err *e);
void pl_vault_item_free(pl_item *it); /* wipes body */
void pl_vault_items_free(pl_item *it, size_t n);
/* Retention: deletes, in one transaction, every note (either direction)
 * whose time is before `before` (unix s) and that is not waiting in the
 * outbox, then scrubs the image (rebuilt with VACUUM under secure_delete;
 * the replaced file is overwritten) so their sealed bodies are no longer
 * in the vault. Signed objects,
 * acks, relay notices and receipts are kept. *count: notes deleted (set
 * even when the scrub fails after the commit; then -1 and e says so).
 * Records the cutoff as the counter "notes_purged_before". Must not be
 * called inside a transaction. */
int pl_vault_purge_notes(pl_vault *v, uint64_t before, uint64_t *count, pl_err *e);

/* --- outbox: items waiting for delivery ----------------------------------- */
typedef struct {
	int64_t item_seq;
	char contact[PL_NAME_MAX + 1];
	pl_wr envelope;	     /* empty until sealed; then the exact bytes to deposit */
	uint64_t not_before; /* unix s; 0 = as soon as possible */
	int kind;	     /* the item's kind (its payload kind) */
} pl_outbox;

int pl_vault_outbox_add(pl_vault *v, int64_t item_seq, const char *contact, pl_err *e);
/* The same, not to be deposited before `not_before` (unix s): automatic
 * deposits wait, so that their timing does not tie them to what caused
 * them. */
int pl_vault_outbox_add_at(pl_vault *v, int64_t item_seq, const char *contact, uint64_t not_before,
			   pl_err *e);
int pl_vault_outbox_list(pl_vault *v, pl_outbox **out, size_t *n, pl_err *e); /* oldest first */
int pl_vault_outbox_set_envelope(pl_vault *v, int64_t item_seq, const uint8_t *env, size_t n,
				 pl_err *e);
int pl_vault_outbox_remove(pl_vault *v, int64_t item_seq, pl_err *e);
void pl_vault_outbox_free(pl_outbox *o, size_t n);

/* --- envelopes already processed, and ones kept for later ----------------- */
int pl_vault_seen(pl_vault *v, const uint8_t hash[static 32]); /* 1 seen, 0 not, -1 error */
int pl_vault_mark_seen(pl_vault *v, const uint8_t hash[static 32], pl_err *e);
/* Envelopes we could not process yet (unknown sender): kept, retried later.
 * Anyone can seal an envelope to our key, so they are bounded: 1 (nothing
 * kept) once PL_VAULT_PENDING_MAX envelopes or PL_VAULT_PENDING_BYTES are
 * held; 0 kept (or already there); -1 error. */
#define PL_VAULT_PENDING_MAX 200
#define PL_VAULT_PENDING_BYTES (8u << 20)
int pl_vault_pending_add(pl_vault *v, const uint8_t hash[static 32], const uint8_t *env, size_t n,
			 pl_err *e);
/* The same, with the sender identity key the seal claims (found when the
 * envelope was first opened), so that later syncs need not open it again
 * to know whether its sender became a contact. sender NULL: not known (a
 * row kept before senders were stored); the next sync opens it once. */
int pl_vault_pending_keep(pl_vault *v, const uint8_t hash[static 32],
			  const uint8_t sender[PL_IK_LEN], const uint8_t *env, size_t n, pl_err *e);
/* Records the sender of a kept envelope that had none. */
int pl_vault_pending_set_sender(pl_vault *v, const uint8_t hash[static 32],
				const uint8_t sender[static PL_IK_LEN], pl_err *e);
int pl_vault_pending_list(pl_vault *v, pl_wr **envs, size_t *n, pl_err *e);
/* The kept envelopes worth opening again: sender unknown, or a verified
 * contact whose key has not changed since. Oldest first. */
int pl_vault_pending_retryable(pl_vault *v, pl_wr **envs, size_t *n, pl_err *e);
/* How many envelopes are kept; -1 on error. */
int64_t pl_vault_pending_count(pl_vault *v);
int pl_vault_pending_remove(pl_vault *v, const uint8_t hash[static 32], pl_err *e);
void pl_vault_pending_free(pl_wr *envs, size_t n);

/* 0 iff name is a valid party or contact name (1..PL_NAME_MAX bytes of UTF-8,
 * no control characters, no bidirectional overrides, no '/'); else fills e
 * (PL_EXIT_USAGE) with a sentence the CLI can print as is. */
int pl_vault_name_check(const char *name, pl_err *e);

/* --- the case file: detainee records ------------------------------------ */
#define PL_CASE_REF_LEN 8
#define PL_CASE_NAME_MAX 128
#define PL_CASE_PARTY_MAX 64
#define PL_CASE_NAT_MAX 128
#define PL_CASE_DATE_MAX 32
#define PL_CASE_CHARGES_MAX 512
#define PL_CASE_SENTENCE_MAX 256
#define PL_CASE_HUMANITARIAN_MAX 512
#define PL_CASE_SUMMARY_MAX 512 /* = PL_PERSON_HUMANITARIAN_MAX: it travels */
#define PL_CASE_NOTE_MAX 4096
#define PL_CASE_PERSON_ID_MAX 24 /* = PL_PERSON_ID_MAX (negotiation/match.h) */

/* What travels and what does not: when a proposal or request names a
 * record, only name, held_by, nationality, born and summary (the shared
 * humanitarian summary) go into the signed object. since, charges,
 * sentence, humanitarian (internal wording), priority and note never leave
 * the vault. */
typedef struct {
	int64_t id;		      /* local, small: what people type */
	uint8_t ref[PL_CASE_REF_LEN]; /* random, travels in proposals */
	char name[PL_CASE_NAME_MAX + 1];
	char held_by[PL_CASE_PARTY_MAX + 1];
	char nationality[PL_CASE_NAT_MAX + 1]; /* comma-separated */
	char born[PL_CASE_DATE_MAX + 1];
	char since[PL_CASE_DATE_MAX + 1];
	char charges[PL_CASE_CHARGES_MAX + 1];
	char sentence[PL_CASE_SENTENCE_MAX + 1];
	char humanitarian[PL_CASE_HUMANITARIAN_MAX + 1]; /* internal */
	int priority;					 /* 0..100, internal */
	uint64_t created, updated;
	char summary[PL_CASE_SUMMARY_MAX + 1]; /* shared with the other side */
	char note[PL_CASE_NOTE_MAX + 1];       /* internal */
	int removed; /* 1: removed by case remove, kept as a signed move names it */
	/* The person identifier of blind matching ("ISS:DOC", normalised by
	 * the CLI), internal: it links a matched package to this record. */
	char person_id[PL_CASE_PERSON_ID_MAX + 1];
} pl_case;

/* Checks every field (text rules of util/text.h, limits above); 0 or
 * PL_EXIT_USAGE naming the field. name and held_by are required. */
int pl_case_check(const pl_case *c, pl_err *e);
/* Inserts a new record: sets id, a fresh random ref, created/updated. */
int pl_vault_case_add(pl_vault *v, pl_case *c, pl_err *e);
int pl_vault_case_get(pl_vault *v, int64_t id, pl_case *c, pl_err *e); /* NOTFOUND */
int pl_vault_case_by_ref(pl_vault *v, const uint8_t ref[static PL_CASE_REF_LEN], pl_case *c,
			 pl_err *e);					  /* NOTFOUND */
int pl_vault_case_update(pl_vault *v, pl_case *c, pl_err *e);		  /* by id; sets updated */
int pl_vault_case_list(pl_vault *v, pl_case **out, size_t *n, pl_err *e); /* by id */
/* Links a contact's reference to one of our records (replaces an old link). */
int pl_vault_link_put(pl_vault *v, const char *contact, const uint8_t ref[static PL_CASE_REF_LEN],
		      int64_t case_id, pl_err *e);
int pl_vault_link_get(pl_vault *v, const char *contact, const uint8_t ref[static PL_CASE_REF_LEN],
		      int64_t *case_id, pl_err *e); /* NOTFOUND */
/* The links to our record case_id: contact names and refs (*n of them;
 * free both arrays). */
typedef struct {
	char contact[PL_NAME_MAX + 1];
	uint8_t ref[PL_CASE_REF_LEN];
} pl_case_link;
int pl_vault_links_of(pl_vault *v, int64_t case_id, pl_case_link **out, size_t *n, pl_err *e);
/* Deletes record id and the links to it (one transaction). */
int pl_vault_case_delete(pl_vault *v, int64_t id, pl_err *e);

/* --- backup and restore (vault_backup.c) ----------------------------------
 * A backup file is the vault's database image sealed under the passphrase
 * with a salt of its own (docs/PROTOCOL.md, "Backup file"); the strict
 * decoder and the sealing are in vault_int.h. */
#define PL_BACKUP_IMAGE_MAX (512u << 20)		      /* the largest vault backed up */
#define PL_BACKUP_FILE_MAX ((size_t)PL_BACKUP_IMAGE_MAX + 91) /* + header, nonce, mac */
/* Writes a backup of the open vault (which holds the vault's lock, so the
 * image is one consistent state) to path, a new file (refused if anything
 * is there; written atomically, mode 0600), sealed under pass at the given
 * Argon2id cost. *created: the backup's time; *imglen: image bytes. Must
 * not be called inside a transaction. */
int pl_vault_backup(pl_vault *v, const char *path, const char *pass, size_t passlen,
		    pl_vault_kdf_cost cost, uint64_t *created, size_t *imglen, pl_err *e);
/* The consistent database image of the open vault (malloc'd; the caller
 * wipes and frees it). With pl_vault_install_image, the pair of functions
 * that know how a vault lies on disk: what this one returns is exactly
 * what that one installs (today the image holds the wrapped data key in
 * its meta table; a format that keeps the data key outside the database
 * must put it, with its KDF record, into what this returns). */
int pl_vault_backup_image(pl_vault *v, uint8_t **img, size_t *n, pl_err *e);
/* Opens a backup file's bytes with pass: the image (malloc'd; wipe and
 * free) and the time the backup was taken. PL_EXIT_INPUT for a file that
 * is not a backup, PL_EXIT_VAULT for a wrong passphrase or an altered file. */
int pl_backup_open(uint8_t **img, size_t *imglen, uint64_t *created, const uint8_t *p, size_t n,
		   const char *pass, size_t passlen, pl_err *e);
/* THE one function that knows how a vault lies on disk: writes the
 * database image img into the folder dir (which holds no vault) so that
 * pl_vault_open(dir, pass) opens it. Today: the sealed file DIR/vault.pv
 * (its data key and KDF record from the payload, a fresh salt), never
 * replacing. */
int pl_vault_install_image(const char *dir, const uint8_t *img, size_t n, const char *pass,
			   size_t passlen, pl_err *e);
/* Restoring into dir goes through a new folder beside it: begin refuses a
 * dir holding a vault (or anything but an empty folder) and makes
 * *tmpdir (malloc'd, 0700); the caller installs the image there, opens
 * and resets it; finish moves it to dir (never over anything but an empty
 * folder) and flushes; abort removes it and its files. */
int pl_vault_restore_begin(const char *dir, char **tmpdir, pl_err *e);
int pl_vault_restore_finish(const char *tmpdir, const char *dir, pl_err *e);
void pl_vault_restore_abort(const char *tmpdir);
/* What a vault that may be an older copy of itself changes before it
 * encrypts anything (client/copies.h adds the notices to contacts): every
 * ratchet session dropped (*sessions: how many), a fresh signed prekey and
 * fresh one-time prekeys under ids no older copy can have given out, and
 * the bundle marked for publishing again. One unit of work. */
int pl_vault_copy_reset(pl_vault *v, unsigned *sessions, pl_err *e);

/* --- the relay's transparency log, as this party has seen it ----------- */
#define PL_LOG_NOTE_MAX 8192

/* Signed checkpoints the client verified, by tree size. */
int pl_vault_checkpoint_put(pl_vault *v, uint64_t size, const uint8_t *note, size_t n, pl_err *e);
/* The largest stored checkpoint; NOTFOUND if none. *note malloc'd. */
int pl_vault_checkpoint_latest(pl_vault *v, uint64_t *size, uint8_t **note, size_t *n, pl_err *e);
/* Two signed statements of the relay that cannot both be true, kept forever. */
typedef struct {
	int64_t n;
	char reason[256];
	uint8_t *a, *b;
	size_t alen, blen;
	uint64_t at;
	uint8_t relay_key[32]; /* the relay it is against (pinned when it was kept) */
	int has_relay_key;
} pl_evidence;
int pl_vault_evidence_add(pl_vault *v, const char *reason, const uint8_t *a, size_t alen,
			  const uint8_t *b, size_t blen, pl_err *e);
int pl_vault_evidence_list(pl_vault *v, pl_evidence **out, size_t *n, pl_err *e);
void pl_vault_evidence_free(pl_evidence *ev, size_t n);
/* The receipt of item seq was proved included in a checkpoint of `size`. */
int pl_vault_receipt_checked(pl_vault *v, int64_t item_seq, uint64_t leaf, uint64_t size,
			     pl_err *e);
int pl_vault_receipt_is_checked(pl_vault *v, int64_t item_seq); /* 1, 0, or -1 */
/* 1 if an envelope with this hash is kept pending, 0 if not, -1 on error. */
int pl_vault_pending_has(pl_vault *v, const uint8_t hash[static 32]);

#endif
