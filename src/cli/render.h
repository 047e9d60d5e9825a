/*
 * render.h — how the CLI shows a stored item (a note or a negotiation
 * move): as the JSON object thread, inbox and the demo print, and as the
 * plain lines a person reads.
 *
 * It only reads the vault (to say which people in a move are ours); it
 * never changes it and never decides a state: the state shown is the
 * negotiation engine's (pl_nego_effective_state).
 */
#ifndef PARLEY_CLI_RENDER_H
#define PARLEY_CLI_RENDER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "negotiation/object.h"

#include "vault/vault.h"

/* JSON of an item as shown by thread and inbox (id, kind, from, to, time,
 * direction, state, text or the object's fields; proposals: we_release,
 * they_release from the viewer's side, expires). `now` decides expiry. */
json_t *pl_cli_item_json(pl_vault *v, const pl_item *it, uint64_t now);

/* The key rotation that gave contact c its current key, as one line for
 * people in out (cap bytes) and a state word (*state: signed-by-verified,
 * trusted, verified, unverified, void, conflict). 1 one, 0 none, -1. */
int pl_cli_rotation_note(pl_vault *v, const pl_contact *c, char *out, size_t cap,
			 const char **state);

/* The same item as a few lines on stdout: every term it carries (for a
 * proposal each party by name with the people it releases, conditions,
 * place, sequencing, mediator, expiry), times in UTC and in TZ. */
void pl_cli_item_print(pl_vault *v, const pl_item *it, uint64_t now);
void pl_cli_item_fprint(FILE *f, pl_vault *v, const pl_item *it, uint64_t now);

/* The same lines for an object about to be signed, ours, to `contact`. */
void pl_cli_obj_print(FILE *f, pl_vault *v, const char *contact, const pl_obj *o);

#endif
