"""Foundation-model gene embeddings (scRegNet's `Z_fm`), Geneformer-compatible.

- `tokenizer`: Geneformer's rank-value encoding of cells (V1 and V2 with `<cls>`/`<eos>`).
- `checkpoint`: a Geneformer-style checkpoint directory (HF `BertForMaskedLM` plus token and
  gene median dictionary pickles) and the gene symbol -> model gene id mapping.
- `pretrain`: a small model of the same architecture pretrained by masked-token prediction
  on the run's own cells, saved as such a checkpoint.
- `extract`: per-gene hidden states of one layer, mean-pooled over the cells of each cell
  type, with a record of what the model saw of the data (`EmbeddingInputs`).
- `pca`: the control embedding of the same width (gene loadings of a truncated SVD).
"""
