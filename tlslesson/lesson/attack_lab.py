"""The attack-lab widget: a "defence" toggle, a Run button, a query counter, and the outcome
(a thin view over ``tlslesson.attacks.lab.run``; the callbacks write into an Output)."""
from __future__ import annotations


def attack_lab(number: int):
    import ipywidgets as w
    from ..attacks import LABS
    from ..attacks.lab import run

    lab = LABS[number - 1]
    defence = w.ToggleButton(value=False, description="defence: off", icon="unlock")
    button = w.Button(description="Run the attack", button_style="danger")
    counter = w.IntText(value=0, description="queries", disabled=True,
                        layout=w.Layout(width="180px"))
    out = w.Output()

    def toggled(change):
        defence.description = "defence: on" if change["new"] else "defence: off"
        defence.icon = "lock" if change["new"] else "unlock"
    defence.observe(toggled, "value")

    def progress(queries):
        counter.value = queries

    def clicked(_):
        out.clear_output()
        counter.value = 0
        button.disabled = True
        with out:
            try:
                outcome = run(number, defence.value, progress)
                verdict = ("the attack WORKED" if outcome.succeeded else
                           f"the attack failed, stopped by check: {outcome.check}")
                print(f"Lab {number} ({lab.title}), defence {'on' if defence.value else 'off'}: "
                      f"{verdict}")
                for line in outcome.lines:
                    print("  ", line)
            finally:
                button.disabled = False
    button.on_click(clicked)
    return w.VBox([w.HBox([defence, button, counter]), out])
