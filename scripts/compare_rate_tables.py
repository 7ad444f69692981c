"""The "What per-model tuning changed" table of docs/results.md, from the two committed main
tables: ``python scripts/compare_rate_tables.py`` (docs/results/main and docs/results/shared)."""
import pandas as pd
m = pd.read_csv("docs/results/main/main_table.csv").set_index("task")
s = pd.read_csv("docs/results/shared/main_table.csv").set_index("task")
print("| task | rates tuned (attention / mean) | effect tuned [95% CI], Holm p | shared rate | effect shared [95% CI], Holm p | reached tuned (att / mean) | reached shared (att / mean) |")
print("|---|---|---|---|---|---|---|")
for t in m.index:
    a, b = m.loc[t], s.loc[t]
    print(f"| {t} | {a['variant.lr']} / {a['control.lr']} | {a.effect:.2f} [{a.effect_low:.2f}, {a.effect_high:.2f}], {a.p_holm:.2g} | {b['variant.lr']} | {b.effect:.2f} [{b.effect_low:.2f}, {b.effect_high:.2f}], {b.p_holm:.2g} | {int(a['variant.reached'])} / {int(a['control.reached'])} | {int(b['variant.reached'])} / {int(b['control.reached'])} |")
