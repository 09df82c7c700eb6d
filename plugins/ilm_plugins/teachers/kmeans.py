"""k-means on sentence embeddings: the groups a data-mixing teacher mixes over, from its own knowledge.

The mixing teachers (`odm`, `doremi`, `hard-examples`, `stratified`) never read the pool's labels:
their groups are clusters of the teacher LM's sentence embeddings (select-bin's cached pool
features), found here with k-means++ seeding and Lloyd iterations, seeded from the teacher's seed.
"""

from __future__ import annotations

import torch


def kmeans(features: torch.Tensor, k: int, seed: int, iterations: int = 50) -> list[int]:
    """The cluster of each row of `features` [n, d] among `k` clusters (k-means++ seeding from `seed`,
    then Lloyd iterations until nothing moves). Every cluster keeps at least one row: an empty cluster
    takes the row farthest from its centre. k is cut to n."""
    x = features.detach().double()
    n = x.shape[0]
    k = max(1, min(k, n))
    generator = torch.Generator().manual_seed(seed)
    first = int(torch.randint(n, (1,), generator=generator))
    centres = [x[first]]
    for _ in range(1, k):  # k-means++: the next centre far from the ones chosen, in proportion to D^2
        d2 = torch.cdist(x, torch.stack(centres)).min(1).values ** 2
        if float(d2.sum()) <= 0:
            pick = int(torch.randint(n, (1,), generator=generator))
        else:
            pick = int(torch.multinomial(d2 / d2.sum(), 1, generator=generator))
        centres.append(x[pick])
    c = torch.stack(centres)
    labels = torch.full((n,), -1, dtype=torch.long)
    for _ in range(iterations):
        new = torch.cdist(x, c).argmin(1)
        for g in range(k):  # an empty cluster takes the row farthest from its own centre
            if not bool((new == g).any()):
                far = torch.cdist(x, c).gather(1, new[:, None]).squeeze(1)
                counts = torch.bincount(new, minlength=k)
                far[counts[new] <= 1] = -1.0  # never empty another cluster
                new[int(far.argmax())] = g
        if torch.equal(new, labels):
            break
        labels = new
        c = torch.stack([x[labels == g].mean(0) for g in range(k)])
    return labels.tolist()
