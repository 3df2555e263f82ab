// pass@k: the chance that at least one of k answers is right, estimated without bias from n ≥ k samples.

/**
 * Unbiased pass@k from n samples of which c are correct (Chen et al. 2021, "Evaluating Large Language Models
 * Trained on Code", eq. 1):
 *
 *   pass@k = 1 − C(n − c, k) / C(n, k)
 *
 * computed as 1 − Π_{i = n−c+1}^{n} (1 − k / i), which never forms the binomials. With n = k it is 1 when any
 * sample is correct; pass@1 is c / n.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (!Number.isInteger(n) || !Number.isInteger(c) || !Number.isInteger(k))
    throw new RangeError(`pass@k needs whole numbers, got n=${n} c=${c} k=${k}`);
  if (n < 1 || k < 1 || k > n) throw new RangeError(`pass@k needs 1 ≤ k ≤ n, got n=${n} k=${k}`);
  if (c < 0 || c > n) throw new RangeError(`pass@k needs 0 ≤ c ≤ n, got n=${n} c=${c}`);
  if (n - c < k) return 1;
  let miss = 1;
  for (let i = n - c + 1; i <= n; i++) miss *= 1 - k / i;
  return 1 - miss;
}
