"""PyTorch peer of the two LMU featurizers, for `bench-featurize` (same shapes, same arithmetic, batched).

final:  the memory after the last step, x[N, T] @ K[T, order] (K = time-reversed impulse response).
pooled: W windows of `order` Legendre coefficients, each a causal conv1d of the full row with its impulse response,
        projected onto P random directions, plus a bias; proportion of positive values and max over time.
Prints nothing but progress; writes medians (seconds for the whole batch) to --json.
"""
import argparse, json, math, statistics, time
import torch

def legendre_ab(q):
    a = torch.zeros(q, q, dtype=torch.float64); b = torch.zeros(q, dtype=torch.float64)
    for i in range(q):
        b[i] = (2 * i + 1) * (-1) ** i
        for j in range(q):
            a[i, j] = (2 * i + 1) * (-1 if i < j else (-1) ** (i - j + 1))
    return a, b

def impulse(q, theta, t):
    a, b = legendre_ab(q)
    m = torch.zeros(q + 1, q + 1, dtype=torch.float64); m[:q, :q] = a / theta; m[:q, q] = b / theta
    e = torch.matrix_exp(m); ad, bd = e[:q, :q], e[:q, q]
    h = torch.zeros(t, q, dtype=torch.float64); v = bd.clone()
    for k in range(t):
        h[k] = v; v = ad @ v
    return h.float()

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--rows', type=int, default=1000); p.add_argument('--steps', type=int, default=150)
    p.add_argument('--windows', type=int, default=50); p.add_argument('--projections', type=int, default=100)
    p.add_argument('--order', type=int, default=9); p.add_argument('--final-order', type=int, default=16)
    p.add_argument('--threads', type=int, default=1); p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--json', required=True)
    args = p.parse_args()
    torch.set_num_threads(args.threads); torch.manual_seed(0)
    n, t, q, g, k = args.rows, args.steps, args.order, args.windows, args.projections
    x = torch.randn(n, t)
    thetas = [math.exp(math.log(min(8, t)) + (math.log(t) - math.log(min(8, t))) * i / max(1, g - 1)) for i in range(g)]
    conv_w = torch.cat([impulse(q, th, t).flip(0).T for th in thetas]).unsqueeze(1)   # [G*q, 1, T]
    proj = torch.randn(g, k, q); bias = torch.randn(g, k, 1)
    final_k = impulse(args.final_order, t, t).flip(0)                                     # [T, q]

    def final():
        return x @ final_k

    def pooled(chunk=64):
        # Chunks of rows keep the [rows, G, P, T] projections small (all 1,000 rows at once would be 3 GB of float32,
        # which makes the peer memory-bound rather than compute-bound).
        outs = []
        for s in range(0, n, chunk):
            xc = x[s:s + chunk]; b = xc.shape[0]
            z = (xc - xc.mean(1, keepdim=True)) / xc.std(1, unbiased=False, keepdim=True).clamp_min(1e-8)
            m = torch.nn.functional.conv1d(torch.nn.functional.pad(z.unsqueeze(1), (t - 1, 0)), conv_w)  # [b, G*q, T]
            m = m.view(b, g, q, t)
            out = torch.einsum('gkq,ngqt->ngkt', proj, m) + bias
            outs.append(torch.cat([(out > 0).float().mean(3).reshape(b, -1), out.amax(3).reshape(b, -1)], 1))
        return torch.cat(outs)

    result = {'torch': torch.__version__}
    with torch.no_grad():
        for name, fn in (('final', final), ('pooled', pooled)):
            fn()
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter(); fn(); times.append(time.perf_counter() - start)
            result[name] = statistics.median(times)
            print(f'peer {name}: {result[name]:.4f} s for {n} rows', flush=True)
    json.dump(result, open(args.json, 'w'))

if __name__ == '__main__':
    main()
