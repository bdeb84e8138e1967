"""Each model's pieces for the correctness harness :mod:`ppltopics.testing`, one module per
model family: its exact data conditional ``p(data | latent)``, batched collapsed log joint,
label-invariant test functions for Geweke's test, enumerated toy posteriors and adapters.

- :mod:`~ppltopics.models.checks.lda` — LDA, and the reference sampler
  :class:`ReferenceLDAKernel` with deliberate defects;
- :mod:`~ppltopics.models.checks.glda` — Gaussian LDA;
- :mod:`~ppltopics.models.checks.cgtm` — the correlated Gaussian topic model;
- :mod:`~ppltopics.models.checks.trees` — what hLDA and GhLDA share (nCRP tree latents,
  enumeration, batched tree prior, tree test functions);
- :mod:`~ppltopics.models.checks.hlda`, :mod:`~ppltopics.models.checks.ghlda`.

Every public name is re-exported here (``from ppltopics.models import checks``).
"""

from ppltopics.models.checks.cgtm import (
    CGTM_LATENT_SITES,
    CGTMConditional,
    cgtm_log_joint_batch,
    cgtm_test_functions,
    cgtm_vector_conditional,
)
from ppltopics.models.checks.ghlda import (
    ghlda_log_joint_batch,
    ghlda_test_functions,
    ghlda_vector_conditional,
)
from ppltopics.models.checks.glda import (
    glda_log_joint_batch,
    glda_test_functions,
    glda_vector_conditional,
)
from ppltopics.models.checks.hlda import (
    hlda_log_joint_batch,
    hlda_test_functions,
    hlda_word_conditional,
)
from ppltopics.models.checks.lda import (
    MUTATIONS,
    ReferenceLDAKernel,
    lda_enumerated_posterior,
    lda_log_joint_batch,
    lda_test_functions,
    lda_word_conditional,
)
from ppltopics.models.checks.trees import (
    TREE_LATENT_KEYS,
    TreeConditional,
    enumerate_ncrp_paths,
    stack_tree_latents,
    tree_enumerated_posterior,
    tree_forward_sampler,
    tree_log_prior_batch,
    tree_state_index,
    tree_test_functions,
)

__all__ = [
    "lda_enumerated_posterior",
    "lda_word_conditional",
    "lda_log_joint_batch",
    "lda_test_functions",
    "MUTATIONS",
    "ReferenceLDAKernel",
    "glda_vector_conditional",
    "glda_log_joint_batch",
    "glda_test_functions",
    "CGTM_LATENT_SITES",
    "CGTMConditional",
    "cgtm_vector_conditional",
    "cgtm_log_joint_batch",
    "cgtm_test_functions",
    "TREE_LATENT_KEYS",
    "tree_forward_sampler",
    "TreeConditional",
    "stack_tree_latents",
    "enumerate_ncrp_paths",
    "tree_state_index",
    "tree_enumerated_posterior",
    "tree_log_prior_batch",
    "tree_test_functions",
    "hlda_word_conditional",
    "hlda_log_joint_batch",
    "hlda_test_functions",
    "ghlda_vector_conditional",
    "ghlda_log_joint_batch",
    "ghlda_test_functions",
]
