/*
 * agreement.h — the agreement file `parley export agreement` writes and
 * `parley verify` checks with nothing but the file (docs/NEGOTIATION.md
 * "Files"): a proposal and its acceptance, both signed, in base64, and
 * (version 2) the relay's deposit receipt of the envelope that carried the
 * acceptance into the proposer's mailbox, with the relay's log key: the
 * time that counts for expiry is that receipt's log time, which neither
 * party controls. Version 1 files (no receipt) still verify, and say that
 * their time is the accepter's own clock.
 *
 * The verifier is strict: exactly the known keys, canonical base64, no
 * duplicate keys, and the file must be byte for byte what parley writes for
 * that content. It must never report a file valid unless both signatures
 * verified and the acceptance binds to the proposal, and never need a vault.
 */
#ifndef PARLEY_EXPORT_AGREEMENT_H
#define PARLEY_EXPORT_AGREEMENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "export/json.h"
#include "identity/identity.h"
#include "log/note.h"
#include "log/receipt.h"
#include "negotiation/custody.h"
#include "negotiation/object.h"
#include "util/err.h"

#define PL_AGREEMENT_FORMAT "parley-agreement"
#define PL_AGREEMENT_VERSION_PROVED 2 /* with the deposit receipt */
#define PL_AGREEMENT_NAMES_TAG "parley agreement names v1\n"
enum { PL_AGREEMENT_PROPOSER = 1, PL_AGREEMENT_ACCEPTER = 2 };

typedef struct {
	pl_obj proposal;   /* verified; type PL_OBJ_PROPOSAL */
	pl_obj acceptance; /* verified; a response of kind accept naming it */
	uint8_t proposal_hash[PL_OBJ_HASH_LEN];
	uint8_t proposer_ik[PL_IK_LEN]; /* = proposal.author_ik */
	uint8_t accepter_ik[PL_IK_LEN]; /* = acceptance.author_ik */
	char proposer_fp[PL_FINGERPRINT_LEN];
	char accepter_fp[PL_FINGERPRINT_LEN];
	int proved;	     /* version 2: the acceptance's time is the relay's log time */
	uint64_t log_time;   /* proved: the deposit's relay time */
	uint64_t leaf_index; /* proved: the deposit leaf in the relay's log */
	char relay_vkey[PL_NOTE_VKEY_MAX]; /* proved: the relay log key it verified under */
	int relay_key_given;		   /* proved: that key was the one the caller gave */
	uint8_t relay_pk[32];		   /* proved: its public key */
	uint8_t receipt[PL_RECEIPT_MAX];   /* proved: the receipt as carried */
	size_t receipt_len;
	/* the parties' names as the exporting party labels them, signed with
	 * its key (pl_agreement_add_names); names_by 0: the file has none */
	int names_by; /* 0, PL_AGREEMENT_PROPOSER or PL_AGREEMENT_ACCEPTER */
	char proposer_name[PL_EXPORT_NAME_MAX + 1];
	char accepter_name[PL_EXPORT_NAME_MAX + 1];
	uint8_t names_sig[PL_SIG_LEN];
	int expect_matched; /* PL_AGREEMENT_PROPOSER | _ACCEPTER: given keys that signed */
	/* the mediator's guarantee (key "guarantee"), when the file has one:
	 * signed by the mediator the proposal names, naming both objects */
	int guaranteed;
	pl_obj guarantee;
	char mediator_fp[PL_FINGERPRINT_LEN];
	/* proximity talks: the mediators' custody records of the proposal
	 * (object PL_AGREEMENT_PROPOSER) and of the acceptance (_ACCEPTER),
	 * each verified under the mediator key it names */
	size_t n_custody;
	struct {
		int object;
		pl_custody c;
	} custody[2];
} pl_agreement_summary; /* about 250 KB: allocate it */

/* Builds the agreement JSON from the two signed objects; refuses (-1) a pair
 * that pl_agreement_verify would refuse, so a written file always verifies. */
int pl_agreement_write(json_t **out, const uint8_t *proposal_signed, size_t proposal_len,
		       const uint8_t *acceptance_signed, size_t acceptance_len, pl_err *e);

/* The same with the deposit receipt (log/receipt.h) of the envelope that
 * carried the acceptance, and the relay key it verifies under: version 2.
 * Refuses a receipt that does not verify, is not of a deposit in the
 * proposer's mailbox, or is timed after the proposal's expiry. */
int pl_agreement_write_proved(json_t **out, const uint8_t *proposal_signed, size_t proposal_len,
			      const uint8_t *acceptance_signed, size_t acceptance_len,
			      const uint8_t *receipt, size_t receipt_len,
			      const uint8_t relay_pk[static 32], pl_err *e);

/* Adds the parties' names to an agreement j that pl_agreement_write or
 * _write_proved built: "names" {"proposer", "accepter"}, "names_signed_by"
 * and "names_signature", an Ed25519 signature by the exporter (who must be
 * one of the two signers) over
 *   PL_AGREEMENT_NAMES_TAG ‖ SHA-256(proposal) ‖ SHA-256(acceptance)
 *   ‖ var(proposer name) ‖ var(accepter name).
 * The names are the exporter's labels, not proved by the other side; the
 * signature keeps anyone else from changing them. my_name and peer_name:
 * pl_export_name_ok. */
int pl_agreement_add_names(json_t *j, const pl_identity *exporter, const char *my_name,
			   const char *peer_name, pl_err *e);
/* Adds the mediator's signed guarantee (PL_OBJ_GUARANTEE) to an agreement
 * j that pl_agreement_write or _write_proved built, before any names:
 * "guarantee": b64(signed). Refuses (-1) one that the verifier would
 * refuse: not signed by the mediator the proposal names, not addressed to
 * one of the two parties, or naming another proposal or acceptance. */
int pl_agreement_add_guarantee(json_t *j, const uint8_t *g, size_t gn, pl_err *e);

/* Adds to j the names exactly as the verified summary s carries them (to
 * re-create a file byte for byte); nothing if s has none. */
int pl_agreement_attach_names(json_t *j, const pl_agreement_summary *s);

/* Proximity talks: adds to j (after its names, if any) the custody record
 * (custody ‖ sig, negotiation/custody.h) a mediator signed when it passed
 * on the proposal or the acceptance of j: "custody": [b64, ...], the
 * proposal's first. Refuses a record that does not verify or names another
 * object, author or recipient than one of the two. */
int pl_agreement_add_custody(json_t *j, const uint8_t *rec, size_t n, pl_err *e);
/* Its lines for people: the path each signed object took. */
void pl_agreement_summary_custody(FILE *out, const pl_agreement_summary *s);

/* Verifies agreement file bytes. expect[0..n_expect) are keys that must be
 * among the two signers. On success fills *s (if not NULL); on failure e has
 * the reason: PL_EXIT_INPUT for a file that is not a well-formed agreement,
 * PL_EXIT_SECURITY for a signature, binding, expiry or expected-key failure. */
int pl_agreement_verify(pl_agreement_summary *s, const uint8_t *file, size_t n,
			const uint8_t (*expect)[PL_IK_LEN], size_t n_expect, pl_err *e);
/* The same; relay_vkey (may be NULL): the relay log key (parley.relay/...)
 * a version 2 file's receipt must verify under; NULL = the key inside the
 * file, which the summary then shows for the reader to compare. */
int pl_agreement_verify_ex(pl_agreement_summary *s, const uint8_t *file, size_t n,
			   const char *relay_vkey, const uint8_t (*expect)[PL_IK_LEN],
			   size_t n_expect, pl_err *e);

/* The plain summary (the parties by fingerprint, with the names the file
 * carries, and what the check proves and does not), and the same as a new
 * JSON object. */
void pl_agreement_summary_print(FILE *out, const pl_agreement_summary *s);
/* Its lines on the parties: names and fingerprints, whose labels they
 * are, and what the check proves (which expected key matched which). */
void pl_agreement_summary_parties(FILE *out, const pl_agreement_summary *s);
json_t *pl_agreement_summary_json(const pl_agreement_summary *s);

#endif
