"""The nodes of an exported graph that only the gate uses: int8 quantization must leave them in float.

The gate's squared Mahalanobis distance multiplies features by a precision matrix and sums
hundreds of products; 8-bit steps there would move the distance across its threshold.
"""

from .inputs import OOD_NAME


def ancestors(graph, output):
    """Positions in graph.node of the nodes that `output` depends on (names may be empty or repeated)."""
    producer = {tensor: index for index, node in enumerate(graph.node) for tensor in node.output}
    found, todo = set(), [output]
    while todo:
        index = producer.get(todo.pop())
        if index is not None and index not in found:
            found.add(index)
            todo.extend(graph.node[index].input)
    return found


def gate_nodes(model):
    """Names of the nodes that compute ood_score and nothing else ([] for a graph without the gate)."""
    outputs = [output.name for output in model.graph.output]
    if OOD_NAME not in outputs:
        return []
    others = set().union(*(ancestors(model.graph, name) for name in outputs if name != OOD_NAME))
    return sorted(model.graph.node[index].name for index in ancestors(model.graph, OOD_NAME) - others)
