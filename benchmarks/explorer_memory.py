"""Memory of re-running one ``%%mlm`` cell: does each run keep its fit and data alive?

Starts a real IPython kernel (jupyter_client), loads a data set of ``--rows`` rows, then
runs the same ``%%mlm`` cell ``--runs`` times with the cell id a notebook front end sends
(``metadata.cellId``), reading the kernel's resident memory after each run. For contrast it
then runs the cell as many times under fresh cell ids (separate cells, whose explorers all
stay on the page and so stay alive). Prints one JSON line per run.

    python benchmarks/explorer_memory.py --rows 1000000 --runs 5
"""

from __future__ import annotations

import argparse
import json
import time
import uuid

SETUP = """
import gc, numpy as np, pandas as pd
%load_ext mlm_jupyter
rng = np.random.default_rng(1)
G = {rows} // 50
g = np.repeat(np.arange(G), 50)
x = rng.normal(size=G * 50)
y = 1 + x + rng.normal(size=G)[g] + 0.3 * rng.normal(size=G)[g] * x + rng.normal(size=G * 50)
big = pd.DataFrame(dict(y=y, x=x, g=g.astype(str)))
def rss_mb():
    gc.collect()
    with open('/proc/self/status') as f:
        return next(int(l.split()[1]) for l in f if l.startswith('VmRSS')) / 1024
"""
CELL = "%%mlm big -o m1\ny ~ x + (1 + x | g)"


def run(client, code: str, cell_id: str, timeout: float = 1800) -> None:
    msg = client.session.msg("execute_request", {
        "code": code, "silent": False, "store_history": True, "user_expressions": {},
        "allow_stdin": False, "stop_on_error": True}, metadata={"cellId": cell_id})
    client.shell_channel.send(msg)
    deadline = time.time() + timeout
    while time.time() < deadline:
        reply = client.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
            if reply["content"]["status"] != "ok":
                raise RuntimeError(reply["content"])
            return
    raise TimeoutError(code[:40])


def rss(client) -> float:
    msg_id = client.execute("", silent=True, user_expressions={"r": "rss_mb()"})
    while True:
        reply = client.get_shell_msg(timeout=120)
        if reply["parent_header"].get("msg_id") == msg_id:
            return float(reply["content"]["user_expressions"]["r"]["data"]["text/plain"])


def main() -> None:
    from jupyter_client.manager import start_new_kernel

    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    km, client = start_new_kernel(kernel_name="python3")
    try:
        run(client, SETUP.format(rows=args.rows), "setup")
        print(json.dumps({"rows": args.rows, "after_setup_mb": round(rss(client), 1)}), flush=True)
        same = str(uuid.uuid4())
        for mode in ("same cell", "new cells"):
            for k in range(args.runs):
                t0 = time.time()
                run(client, CELL, same if mode == "same cell" else str(uuid.uuid4()))
                print(json.dumps({"mode": mode, "run": k + 1, "rss_mb": round(rss(client), 1),
                                  "seconds": round(time.time() - t0, 1)}), flush=True)
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
