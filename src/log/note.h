/*
 * note.h — C2SP signed notes (c2sp.org/signed-note@v1.0.0) with Ed25519
 * keys, and the C2SP tlog-checkpoint body (c2sp.org/tlog-checkpoint@v1.0.0)
 * that the relay signs as one. The formats are text:
 *
 *   note       := text blank-line signature-line+
 *   text       := one or more lines, each ending in "\n" (UTF-8, no ASCII
 *                 control characters other than "\n"); the last empty line
 *                 of the note separates text from signatures
 *   signature  := "— " name " " base64(keyid[4] ‖ sig) "\n"   (— = U+2014)
 *   keyid      := SHA-256(name ‖ 0x0A ‖ 0x01 ‖ Ed25519 pk)[:4], big-endian
 *   vkey       := name "+" hex8(keyid) "+" base64(0x01 ‖ pk)
 *   skey       := "PRIVATE+KEY+" name "+" hex8(keyid) "+" base64(0x01 ‖ seed)
 *   checkpoint := origin "\n" decimal-size "\n" base64(root32) "\n" extension-line*
 *
 * Names are non-empty UTF-8 without Unicode white space or "+". Keys are
 * split on the first two (vkey) or four (skey) "+" only, since base64 may
 * contain "+".
 *
 * Verification against a set of known keys (pl_note_open):
 *   MALFORMED  — the bytes are not a signed note: not UTF-8, a control
 *                character, no blank line, no signature or a line that is
 *                not one, a bad name or base64, a signature shorter than
 *                5 bytes, more than PL_NOTE_MAX_SIGS signature lines, or a
 *                note longer than PL_NOTE_MAX_LEN.
 *   INVALID    — a signature whose name and key id both match a known key
 *                fails to verify (or is not 68 bytes): the whole note is
 *                rejected, even if another known key signed it.
 *   UNVERIFIED — well formed, but no known key signed it.
 *   VERIFIED   — at least one known key signed it, and every signature by
 *                a known key verified.
 * Signatures by unknown keys (a name or key id, or both, that match no
 * known key) are checked for syntax only and otherwise ignored. The whole
 * note is parsed before any signature is checked, so MALFORMED wins over
 * INVALID, and garbage costs no Ed25519 verification.
 * Stricter than Go's sumdb/note in two ways, both in the safe direction:
 * base64 must be canonical (zero padding bits), and a repeated signature by
 * a known key is verified again rather than skipped.
 *
 * Must never: treat a note as verified when any known key's signature on
 * it failed; parse beyond the length given; keep a secret key (seed)
 * outside the caller's buffers, or leave one behind on failure.
 */
#ifndef PARLEY_LOG_NOTE_H
#define PARLEY_LOG_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "log/merkle.h"

#define PL_NOTE_MAX_SIGS 100	   /* signature lines per note (C2SP: ≥ 16) */
#define PL_NOTE_MAX_LEN (1u << 20) /* whole note, bytes */
#define PL_NOTE_NAME_MAX 255	   /* key-name bytes (our cap; C2SP sets none) */
#define PL_NOTE_SIG_MAX 8192	   /* decoded signature bytes, any algorithm */
#define PL_NOTE_KEYID_LEN 4
#define PL_NOTE_ALG_ED25519 0x01
#define PL_NOTE_PK_LEN 32
#define PL_NOTE_SK_LEN 64 /* libsodium Ed25519 secret key: seed ‖ pk */
/* vkey string: name + "+" + 8 + "+" + base64(33) = 44, and a NUL. */
#define PL_NOTE_VKEY_MAX (PL_NOTE_NAME_MAX + 1 + 8 + 1 + 44 + 1)

typedef enum {
	PL_NOTE_VERIFIED = 0,
	PL_NOTE_MALFORMED,
	PL_NOTE_INVALID,
	PL_NOTE_UNVERIFIED
} pl_note_status;

/* A verifier key (public). */
typedef struct {
	char name[PL_NOTE_NAME_MAX + 1];
	uint32_t keyid;
	uint8_t pk[PL_NOTE_PK_LEN];
} pl_note_vkey;

/* A signer key: the caller wipes it (sodium_memzero) when done. */
typedef struct {
	char name[PL_NOTE_NAME_MAX + 1];
	uint32_t keyid;
	uint8_t sk[PL_NOTE_SK_LEN];
} pl_note_skey;

/* A note that pl_note_open verified. */
typedef struct {
	const uint8_t *text; /* into the caller's message; ends in "\n" */
	size_t textlen;
	size_t nsigs;			   /* signature lines, known or not */
	size_t nverified;		   /* distinct known keys that signed */
	size_t verified[PL_NOTE_MAX_SIGS]; /* their indices in known[] */
} pl_note;

/* 0 iff name[0..len) is a valid key name (and at most PL_NOTE_NAME_MAX). */
int pl_note_name_check(const char *name, size_t len);
/* Ed25519 key id of (name, pk); -1 if the name is invalid. */
int pl_note_keyid(uint32_t *out, const char *name, const uint8_t pk[static PL_NOTE_PK_LEN]);

/* Strict parse of a vkey string s[0..len): type 0x01, 32-byte key, 8
 * lowercase hex digits that equal the computed key id. */
int pl_note_vkey_parse(pl_note_vkey *out, const char *s, size_t len);
/* Writes the NUL-terminated vkey of (name, pk); cap ≥ PL_NOTE_VKEY_MAX
 * always suffices. */
int pl_note_vkey_format(char *out, size_t cap, const char *name,
			const uint8_t pk[static PL_NOTE_PK_LEN]);
/* Strict parse of a Go-style skey string; the key id must match the
 * public key derived from the seed. Nothing is left in *out on failure. */
int pl_note_skey_parse(pl_note_skey *out, const char *s, size_t len);
/* The vkey that verifies an skey. */
void pl_note_skey_public(pl_note_vkey *out, const pl_note_skey *sk);

/* Bytes pl_note_sign writes for a text of textlen and a name of namelen. */
size_t pl_note_signed_len(size_t textlen, size_t namelen);
/* Signs text[0..textlen) (valid note text, ending in "\n") with one
 * Ed25519 key: writes text ‖ "\n" ‖ signature line to out (cap bytes,
 * no NUL) and its length to *outlen. */
int pl_note_sign(uint8_t *out, size_t cap, size_t *outlen, const uint8_t *text, size_t textlen,
		 const pl_note_skey *key);

/* Parses msg[0..len) and verifies it against known[0..nknown); returns
 * the status (above). *n is filled only when the result is VERIFIED. */
pl_note_status pl_note_open(pl_note *n, const uint8_t *msg, size_t len, const pl_note_vkey *known,
			    size_t nknown);
const char *pl_note_status_str(pl_note_status st);

/* --- C2SP tlog-checkpoint ------------------------------------------------ */
#define PL_CHECKPOINT_ORIGIN_MAX 255
/* origin + size (≤ 20 digits) + base64 root (44) + 3 newlines, before extensions */
#define PL_CHECKPOINT_BASE_MAX (PL_CHECKPOINT_ORIGIN_MAX + 20 + 44 + 3)

typedef struct {
	char origin[PL_CHECKPOINT_ORIGIN_MAX + 1];
	uint64_t size;
	uint8_t root[PL_MERKLE_HASH_LEN];
	const uint8_t *ext; /* extension lines, each non-empty and ending in "\n";
			       points into the parsed text (or the caller's) */
	size_t extlen;
} pl_checkpoint;

/* Strict parse of checkpoint note text: a non-empty origin (UTF-8, no
 * control characters, ≤ PL_CHECKPOINT_ORIGIN_MAX bytes; spaces and "+"
 * are allowed, as C2SP says clients must not assume a URL), the size in
 * decimal without leading zeros that fits in 64 bits, a canonical base64
 * 32-byte root, then zero or more non-empty extension lines. */
int pl_checkpoint_parse(pl_checkpoint *out, const uint8_t *text, size_t len);
/* Formats c as checkpoint text (no NUL) into out[0..cap); the same rules
 * as the parser, so what it writes parses back to c. */
int pl_checkpoint_format(uint8_t *out, size_t cap, size_t *outlen, const pl_checkpoint *c);

/* Opens a checkpoint signed by a log: VERIFIED only if the note verifies
 * with `log` as its one known key and its text is a valid checkpoint whose
 * origin equals the key's name (parley requires what C2SP recommends);
 * a note that verifies but fails those checks is MALFORMED. c->ext points
 * into msg. */
pl_note_status pl_checkpoint_open(pl_checkpoint *c, const uint8_t *msg, size_t len,
				  const pl_note_vkey *log);

#endif
