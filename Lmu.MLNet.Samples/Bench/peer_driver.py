#!/usr/bin/python3
"""Drives ../shared/bench/peer_pytorch_lmu.py one sample at a time, so the .NET bench can interleave it with ours.

The peer script is imported unchanged (its models, its Adam step, its loss); nothing is copied from it. The process
stays alive for the whole bench and answers one JSON line per command read from stdin:

  info                      -> torch version, threads
  matmul N REPS             -> median GFLOP/s of an N x N float32 matmul
  copy MIB REPS             -> median GB/s of a MIB-MiB tensor copy (read + write counted)
  setup NAME T BATCH SEED   -> builds the configuration (theta = T, order 256, 212 units, 10 classes)
  train | infer [N]         -> seconds per training step / inference batch: the mean of N (default 1) calls run back to
                               back, timed together inside this process
  train_mem | infer_mem     -> the same, plus the peak resident memory the call added above the trimmed process
  quit

Usage: peer_driver.py PEER_SCRIPT --threads N
"""
import ctypes, importlib.util, json, statistics, sys, time

import torch

_libc = ctypes.CDLL("libc.so.6")
_process_peak_kb = 0  # the high-water mark is reset per measured call; this keeps the whole run's


def load_peer(path):
    spec = importlib.util.spec_from_file_location("peer_pytorch_lmu", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def measured_peak(fn):
    """Seconds of fn() and the peak RSS (KiB) it added: freed heap pages are returned first (malloc_trim) and the
    kernel's high-water mark is reset to the current RSS (clear_refs 5), so the peak is this call's working memory."""
    global _process_peak_kb
    _process_peak_kb = max(_process_peak_kb, status_kb("VmHWM"))
    _libc.malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = status_kb("VmRSS")
    t = time.perf_counter(); fn(); s = time.perf_counter() - t
    return s, status_kb("VmHWM") - base, base


def median_time(fn, reps):
    fn(); ts = []
    for _ in range(reps):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def matmul_gflops(n, reps):
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n ** 3 / median_time(lambda: a @ b, reps) / 1e9


def copy_gbs(mib, reps):
    src = torch.randn(mib * 262144); dst = torch.empty_like(src)
    return 2 * src.numel() * 4 / median_time(lambda: dst.copy_(src), reps) / 1e9


def main():
    peer = load_peer(sys.argv[1])
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 1
    torch.set_num_threads(threads)
    state = {}
    out = sys.stdout
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        op = cmd[0]
        try:
            if op == "quit":
                break
            elif op == "info":
                res = {"torch": torch.__version__, "threads": torch.get_num_threads()}
            elif op == "matmul":
                res = {"gflops": matmul_gflops(int(cmd[1]), int(cmd[2]))}
            elif op == "copy":
                res = {"gbs": copy_gbs(int(cmd[1]), int(cmd[2]))}
            elif op == "setup":
                name, T, B, seed = cmd[1], int(cmd[2]), int(cmd[3]), int(cmd[4])
                state.clear(); _libc.malloc_trim(0)
                torch.manual_seed(seed)
                if name == "rnn_cell":
                    model = peer.RnnCell(theta=T)
                else:
                    model = {"ff_dense": peer.FFDense, "ff_rnn": peer.FFRnn}[name](theta=T, T=T)
                opt = torch.optim.Adam(model.parameters(), 1e-3)
                loss_fn = torch.nn.CrossEntropyLoss()
                x = torch.rand(B, T, 1); y = torch.randint(0, 10, (B,))

                def train():
                    opt.zero_grad(); loss = loss_fn(model(x), y); loss.backward(); opt.step()

                def infer():
                    with torch.no_grad():
                        model(x)

                state.update(train=train, infer=infer)
                res = {"params": sum(p.numel() for p in model.parameters() if p.requires_grad)}
            elif op in ("train", "infer"):
                fn = state[op]
                n = int(cmd[1]) if len(cmd) > 1 else 1
                t = time.perf_counter()
                for _ in range(n):
                    fn()
                res = {"s": (time.perf_counter() - t) / n}
            elif op in ("train_mem", "infer_mem"):
                s, peak, base = measured_peak(state[op[:-4]])
                res = {"s": s, "peak_kb": peak, "base_kb": base}
            else:
                res = {"error": f"unknown command {op}"}
        except Exception as e:  # reported to the caller, which fails with the message
            res = {"error": f"{type(e).__name__}: {e}"}
        res["process_peak_kb"] = max(_process_peak_kb, status_kb("VmHWM"))
        out.write(json.dumps(res) + "\n"); out.flush()


if __name__ == "__main__":
    main()
