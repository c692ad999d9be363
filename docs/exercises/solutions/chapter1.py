"""Chapter 1, reference solution: a topological order of tinygen's graph, without recursion."""


def topological_order(root):
    """Every tensor that requires grad and leads to root, each after its inputs, root last.

    Depth-first search with an explicit stack of (tensor, inputs_done) pairs: popping
    (t, False) marks t as seen and pushes (t, True) under t's inputs, so t is emitted only after
    everything above it in the stack -- its inputs and theirs -- has been emitted.
    """
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        t, inputs_done = stack.pop()
        if inputs_done:
            order.append(t)
        elif id(t) not in seen and t.requires_grad:
            seen.add(id(t))
            stack.append((t, True))
            if t._ctx is not None:
                stack.extend((x, False) for x in t._ctx.inputs)
    return order
