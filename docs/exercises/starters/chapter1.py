"""Chapter 1 exercise: a topological order of tinygen's graph, without recursion.

Check:  python docs/exercises/check.py chapter1 this_file.py
"""


def topological_order(root):
    """Every tensor that requires grad and leads to `root`, each after all of its inputs,
    `root` last, no duplicates.

    A tensor t's inputs are t._ctx.inputs (t._ctx is None for a leaf). Skip tensors with
    t.requires_grad False. It must work on a chain 20,000 operations deep: use an explicit
    stack, not recursion.
    """
    raise NotImplementedError("your code here")
