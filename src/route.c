/* The route tree at run time: matching an alert's labels to routes, and walking the tree.
 * The tree itself is built and validated by the config loader. */
#include "tocsin/config.h"

/* Alertmanager's Route.Match: depth-first, children in order; a child that matches stops the
 * search unless it has continue; a route none of whose children match is itself the match. */
static bool route_match(const tn_route_t *r, tn_labels_t ls, const tn_route_t **out, size_t max,
                        size_t *count)
{
    size_t before = *count;

    if (!tn_matchers_match(&r->matchers, ls))
        return false;
    for (size_t i = 0; i < r->nchildren; i++) {
        const tn_route_t *c = r->children[i];
        if (route_match(c, ls, out, max, count) && !c->cont)
            break;
    }
    if (*count == before) {
        if (*count < max)
            out[*count] = r;
        (*count)++;
    }
    return true;
}

size_t tn_route_match(const tn_route_t *root, tn_labels_t ls, const tn_route_t **out, size_t max)
{
    size_t count = 0;

    if (root)
        route_match(root, ls, out, max, &count);
    return count;
}

static bool route_walk(const tn_route_t *r, tn_route_walk_fn fn, void *ud)
{
    if (!fn(ud, r))
        return false;
    for (size_t i = 0; i < r->nchildren; i++)
        if (!route_walk(r->children[i], fn, ud))
            return false;
    return true;
}

void tn_route_walk(const tn_route_t *root, tn_route_walk_fn fn, void *ud)
{
    if (root)
        route_walk(root, fn, ud);
}
