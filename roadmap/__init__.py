"""The road map of ilm (installed as the package `ilm_roadmap`): the paper's Table 1
(`table1.yaml`), the steps beyond it (`beyond-the-paper.yaml`) and one study per cell
(`studies/`). Data only; `ilm_core.roadmap` reads it. See README.md beside this file."""
