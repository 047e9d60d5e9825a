/*
 * outreach.h — the proof-of-outreach bundle (docs/PROOF.md): for every item a party sent to a peer,
 * the deposit leaf of the relay log with its inclusion proof and the item's relay receipt; the
 * peer's fetch leaves (owner-signed acks) that show its mailbox was read past
 * those deposits; one relay-signed checkpoint that all the proofs reach; and
 * the prover's signed statement of how many replies it received from the peer
 * in the period.
 *
 * Sealed sender hides who made a deposit, so the bundle keeps two kinds of
 * fact apart, and so does every summary printed from it: the log proves that
 * these envelopes were deposited for the peer's mailbox at these times and
 * that the peer's key acknowledged fetching them; the prover states (signs)
 * that it sent them and that it received n replies. A reply the peer claims
 * to have sent would come with a relay receipt the peer can show.
 *
 * This module owns the bundle's JSON, its statement bytes, its builder and its
 * strict offline verifier. It must never report a bundle valid unless the
 * checkpoint verified under the relay key used (and says which key that was),
 * every inclusion proof reached that checkpoint's root, every receipt and
 * fetch signature verified and the statement verified under the prover's
 * key; never count a deposit as fetched without a logged fetch by the peer's
 * key after it; never echo untrusted text that is not validated; and never
 * need a vault, a relay or a clock.
 */
#ifndef PARLEY_EXPORT_OUTREACH_H
#define PARLEY_EXPORT_OUTREACH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "export/json.h"
#include "identity/identity.h"
#include "log/leaf.h"
#include "log/merkle.h"
#include "log/note.h"
#include "util/err.h"

#define PL_OUTREACH_FORMAT "parley-outreach-proof"
#define PL_OUTREACH_VERSION 1
#define PL_OUTREACH_STATEMENT_TAG "parley outreach statement v1\n"
#define PL_OUTREACH_NAME_MAX 64	      /* bytes of a party's label */
#define PL_OUTREACH_DEPOSITS_MAX 4096 /* deposits per bundle */
#define PL_OUTREACH_FETCHES_MAX 4096  /* fetch leaves per bundle */
#define PL_OUTREACH_RECEIPT_MAX 4096  /* bytes of a receipt (>= PL_RECEIPT_MAX) */
#define PL_OUTREACH_NOTE_MAX 1024     /* checkpoint note bytes (= receipt notes) */

/* One item sent to the peer, as the client stored it. */
typedef struct {
	const uint8_t *leaf; /* deposit leaf bytes (log/leaf.h) */
	size_t leaf_len;
	uint64_t index;				    /* its leaf index in the log */
	const uint8_t (*proof)[PL_MERKLE_HASH_LEN]; /* inclusion in the bundle's checkpoint */
	size_t proof_len;
	uint8_t envelope_hash[32]; /* SHA-256 of the sealed envelope the client sent */
	const uint8_t *receipt;	   /* the relay receipt bytes (log/receipt.h) */
	size_t receipt_len;
} pl_proof_deposit;

/* One fetch leaf of the peer's mailbox. */
typedef struct {
	const uint8_t *leaf; /* fetch leaf bytes (log/leaf.h) */
	size_t leaf_len;
	uint64_t index;
	const uint8_t (*proof)[PL_MERKLE_HASH_LEN];
	size_t proof_len;
} pl_proof_fetch;

/* What a bundle is built from. */
typedef struct {
	const pl_identity *prover; /* signs the statement (docs/PROOF.md) */
	const char *prover_name;   /* one line of text, 1..PL_OUTREACH_NAME_MAX bytes */
	uint8_t peer_ik[PL_IK_LEN];
	const char *peer_name;
	/* The relay log's verifier key ("parley.relay/<hex>+<keyid>+<base64>",
	 * pl_leaf_log_vkey_string) and the relay-signed checkpoint every proof
	 * reaches. */
	const char *relay_vkey;
	const uint8_t *checkpoint_note;
	size_t note_len;
	const pl_proof_deposit *deps; /* 1..PL_OUTREACH_DEPOSITS_MAX, any order */
	size_t n_deps;
	const pl_proof_fetch *fetches; /* 0..PL_OUTREACH_FETCHES_MAX, any order */
	size_t n_fetches;
	uint64_t period_start, period_end; /* at most PL_EXPORT_TIME_MAX */
	uint32_t replies_received;
} pl_outreach_input;

/* Builds the bundle's JSON (write it with pl_export_write_file); the bundle
 * lists deposits and fetches by leaf index. The result is checked with
 * pl_outreach_proof_verify against in->relay_vkey before it is returned: a
 * bundle the verifier would refuse is refused here (-1, *out NULL, e says
 * why). */
int pl_outreach_proof_build(json_t **out, const pl_outreach_input *in, pl_err *e);

/* What a verified bundle shows about one deposit. */
typedef struct {
	uint64_t index; /* leaf index */
	uint64_t seq;	/* mailbox sequence number */
	uint64_t time;	/* relay time of the deposit */
	uint8_t envelope_hash[32];
	int fetched;	      /* 1 iff a later fetch by the peer's key covers seq */
	uint64_t fetch_index; /* the first such fetch leaf (if fetched) */
	uint64_t fetch_time;  /* its relay time */
} pl_outreach_item;

typedef struct {
	/* The parties. Names are the prover's labels (signed by the prover,
	 * checked as one line of text), not facts the log proves. */
	char prover_name[PL_OUTREACH_NAME_MAX + 1];
	char peer_name[PL_OUTREACH_NAME_MAX + 1];
	uint8_t prover_ik[PL_IK_LEN];
	uint8_t peer_ik[PL_IK_LEN];
	char prover_fp[PL_FINGERPRINT_LEN];
	char peer_fp[PL_FINGERPRINT_LEN];
	uint8_t peer_mailbox[PL_MAILBOX_LEN];
	/* The relay key the checkpoint verified under, and whether it was the
	 * one inside the bundle (no key given: the reader must compare it with
	 * the relay's published key). */
	char relay_vkey[PL_NOTE_VKEY_MAX];
	int used_embedded_key;
	uint64_t checkpoint_size;
	uint8_t checkpoint_root[PL_MERKLE_HASH_LEN];
	/* Proved by the log. */
	size_t n_deposits;
	pl_outreach_item *items; /* n_deposits, by leaf index; malloc'd */
	size_t n_fetches;
	size_t n_fetched;	/* deposits covered by a fetch */
	uint64_t first_deposit; /* relay times */
	uint64_t last_deposit;
	uint64_t all_fetched_by; /* when the last deposit was first fetched (if all were) */
	/* Stated by the prover. */
	uint64_t period_start, period_end;
	uint32_t replies_received;
} pl_outreach_summary;

/* Verifies bundle bytes offline. relay_vkey (may be NULL): the relay log's
 * verifier key to check against; the bundle must name the same key. Without
 * it the key inside the bundle is used and s->used_embedded_key says so.
 * expect[0..n_expect): each key must have signed something in the bundle (the
 * prover always, the peer if it has a fetch leaf). On success fills *s (if not
 * NULL; free it with pl_outreach_summary_free). On failure e has the reason:
 * PL_EXIT_INPUT for a file or key that is not well formed, PL_EXIT_SECURITY
 * for a signature, proof, binding or expected-key failure. A deposit that no
 * fetch covers is not a failure: the summary reports it. */
int pl_outreach_proof_verify(pl_outreach_summary *s, const uint8_t *file, size_t n,
			     const char *relay_vkey, const uint8_t (*expect)[PL_IK_LEN],
			     size_t n_expect, pl_err *e);
void pl_outreach_summary_free(pl_outreach_summary *s);

/* The plain summary (names in quotes as the prover's labels, RFC 3339 times,
 * the peer's fingerprint, the relay key, what the log proves and what the
 * prover states). */
void pl_outreach_summary_print(FILE *out, const pl_outreach_summary *s);
/* The same as a new JSON object (NULL on allocation failure). */
json_t *pl_outreach_summary_json(const pl_outreach_summary *s);

/* The statement bytes the prover signs (docs/PROOF.md); malloc'd into *out.
 * leaf_hashes: the deposits' RFC 9162 leaf hashes in bundle order. */
int pl_outreach_statement(uint8_t **out, size_t *len, const uint8_t prover_ik[static PL_IK_LEN],
			  const uint8_t peer_ik[static PL_IK_LEN], const char *prover_name,
			  const char *peer_name, const uint8_t checkpoint_hash[static 32],
			  uint64_t period_start, uint64_t period_end, uint32_t replies_received,
			  const uint8_t (*leaf_hashes)[PL_MERKLE_HASH_LEN], size_t n_deps);

#endif
