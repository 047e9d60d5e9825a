/*
 * match.h — blind matching over the channel (docs/MATCH.md): mutual
 * intent, acceptable packages and private counts, computed by the two
 * parties with ECDH private set intersection on ristretto255
 * (crypto/psi.h) and carried as payloads of kind PL_KIND_MATCH in their
 * ratchet session (negotiation/match.h gives the messages).
 *
 * Both sides run the same command; the match id is derived from the kind,
 * the label (topic) and the two keys, so the two runs meet whatever order
 * they come in. Each side commits to its list (a signed commitment with
 * its size) before any list is sent; a list goes out only once both
 * commitments are held and both sizes are within the agreed maximum (the
 * smaller of the two sides' --max); the double-blinded answer goes out
 * only once the other's list is complete and matches its commitment.
 *
 * A match's state is computed from the messages the vault holds (items of
 * kind PL_KIND_MATCH) and its own record (vault_match.c), so lost,
 * duplicated and reordered deliveries change nothing but timing; two
 * different versions of one message from the other side break the match
 * and are kept as evidence.
 */
#ifndef PARLEY_CLIENT_MATCH_H
#define PARLEY_CLIENT_MATCH_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "client/messenger.h"
#include "negotiation/match.h"
#include "util/err.h"
#include "vault/vault.h"

#define PL_MATCH_DEFAULT_MAX_PACKAGES 32
#define PL_MATCH_DEFAULT_MAX_COUNT 1024

/* Progress of a long computation or delivery: what, done of total. */
typedef void (*pl_match_progress)(void *ctx, const char *what, size_t done, size_t total);

/* One side's input. intent: answer (1 yes, 0 no) and label = topic.
 * packages: pk[0..n); count: ids[0..n) (normalised person identifiers). */
typedef struct {
	int kind;
	const char *label;
	uint32_t max; /* the largest list this side accepts from the other */
	int answer;
	const pl_match_package *pk;
	char (*ids)[PL_PERSON_ID_MAX + 1];
	size_t n;
} pl_match_input;

/* Starts this side of a match with contact: commits (signed), queues the
 * commitment, and moves on at once if the other side's is here already.
 * Refused if this vault took part in the same match (same kind, label and
 * contact) before. */
int pl_match_start(pl_vault *v, const char *contact, const pl_match_input *in,
		   uint8_t id[static PL_MATCH_ID_LEN], pl_match_progress fn, void *fctx, pl_err *e);

/* Moves every running match on as far as what the vault holds allows:
 * queues lists and answers, computes results. *moved: how many changed. */
int pl_match_advance(pl_vault *v, pl_match_progress fn, void *fctx, unsigned *moved, pl_err *e);

/* A received PL_KIND_MATCH payload, inside the sync's transaction: 0 store
 * it, 1 invalid (reject), PL_MSGR_OBJECT_LATER (the commitment it follows
 * is not here yet), PL_MSGR_OBJECT_HELD (held already), -1 vault error. */
int pl_match_received(pl_vault *v, const pl_contact *from, const pl_payload *p, pl_err *e);

/* The match whose id begins with hex prefix s (4 to 32 digits). */
int pl_match_resolve(pl_vault *v, const char *s, uint8_t id[static PL_MATCH_ID_LEN], pl_err *e);
/* JSON (id, kind, state, result, ...) and/or text of one match. */
int pl_match_show(pl_vault *v, const uint8_t id[static PL_MATCH_ID_LEN], json_t **json, FILE *text,
		  pl_err *e);
/* Every match this vault holds, as a JSON array of show objects. */
int pl_match_list(pl_vault *v, json_t **out, pl_err *e);

/* Writes the proof of a mutual intent (both signed statements,
 * export/match.h) of a matched intent. */
int pl_match_export(pl_vault *v, const uint8_t id[static PL_MATCH_ID_LEN], const char *path,
		    pl_err *e);

/* Queues again every message of match id this vault sent that is not in
 * the outbox (a delivery lost for good); receivers keep one copy. */
int pl_match_resend(pl_vault *v, const uint8_t id[static PL_MATCH_ID_LEN], unsigned *n, pl_err *e);

/* For every match waiting for the other side's answer: asks the relay's
 * log (proved, client/logq.h) whether the other side's key acknowledged
 * fetching our answer below log_size (the checkpoint the sync accepted),
 * and records the leaf; shown by pl_match_show as a
 * side that stopped after learning. *found: matches newly seen so. */
int pl_match_watch(pl_vault *v, uint64_t log_size, unsigned *found, pl_err *e);

/* One line about a match item for inbox and thread views. */
void pl_match_item_text(const pl_item *it, char *out, size_t cap);

#endif
