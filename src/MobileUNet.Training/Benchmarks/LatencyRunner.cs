using System.Diagnostics;

namespace MobileUNet.Benchmarks;

/// <summary>
/// How long to time one configuration: warm-up first (caches, allocator pools, lazily built kernels), then
/// timed runs until the median is stable or <see cref="Seconds"/> of timing is spent.
/// </summary>
internal sealed record BenchBudget
{
    public BenchBudget(double seconds = 3.0, int minRuns = 15, int maxRuns = 20_000, double warmupSeconds = 0.3, int warmupRuns = 3, double stableTolerance = 0.01)
    {
        if (!(seconds > 0)) throw new ArgumentOutOfRangeException(nameof(seconds), "The time budget must be positive.");
        if (minRuns < 1 || maxRuns < minRuns) throw new ArgumentOutOfRangeException(nameof(minRuns), "Need 1 <= minRuns <= maxRuns.");
        Seconds = seconds; MinRuns = minRuns; MaxRuns = maxRuns; WarmupSeconds = warmupSeconds; WarmupRuns = warmupRuns; StableTolerance = stableTolerance;
    }

    /// <summary>
    /// Wall-clock limit of the timed phase. A config too slow to reach <see cref="MinRuns"/> in it still gets
    /// <see cref="LatencyRunner.RunsPastBudget"/> runs, so its percentiles mean something.
    /// </summary>
    public double Seconds { get; }
    public int MinRuns { get; }
    public int MaxRuns { get; }
    public double WarmupSeconds { get; }
    public int WarmupRuns { get; }
    /// <summary>Relative median change under which the median counts as stable.</summary>
    public double StableTolerance { get; }
}

/// <summary>The samples of one timed configuration and why timing stopped.</summary>
internal sealed record LatencySamples(double[] Ms, bool Stable, double TimedSeconds)
{
    public LatencyStats Stats() => LatencyStats.Of(Ms);
}

/// <summary>
/// Times <see cref="IBenchRunner.RunOnce"/> with <see cref="Stopwatch"/> ticks around each call and nothing
/// else inside the timed region: the sample buffer is allocated before timing starts.
/// </summary>
internal static class LatencyRunner
{
    const int CheckEvery = 10;
    const int StableChecks = 3;

    /// <summary>Runs a config gets even when they take longer than the budget (a slow model on a busy machine).</summary>
    public const int RunsPastBudget = 5;

    public static LatencySamples Measure(IBenchRunner runner, BenchBudget budget, CancellationToken cancellationToken = default)
    {
        long warmupEnd = Stopwatch.GetTimestamp() + (long)(budget.WarmupSeconds * Stopwatch.Frequency);
        for (int i = 0; i < budget.WarmupRuns || Stopwatch.GetTimestamp() < warmupEnd; i++)
        {
            runner.RunOnce();
            if (i >= 1000) break;
        }

        var samples = new double[budget.MaxRuns];
        var stability = new MedianStability(budget);
        double tickMs = 1000.0 / Stopwatch.Frequency;
        long start = Stopwatch.GetTimestamp();
        long deadline = start + (long)(budget.Seconds * Stopwatch.Frequency);
        int n = 0;
        bool stable = false;
        while (n < budget.MaxRuns)
        {
            long t0 = Stopwatch.GetTimestamp();
            runner.RunOnce();
            long t1 = Stopwatch.GetTimestamp();
            samples[n++] = (t1 - t0) * tickMs;

            if (stability.StableAfter(samples.AsSpan(0, n))) { stable = true; break; }
            if (n >= Math.Min(budget.MinRuns, RunsPastBudget) && t1 >= deadline) break;
            cancellationToken.ThrowIfCancellationRequested();
        }
        return new LatencySamples(samples[..n], stable, (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency);
    }

    /// <summary>
    /// Whether samples timed elsewhere (a browser, which posts its raw samples) would have counted as stable under
    /// the same rule: the rule replayed over each prefix, as the loop above applies it run by run.
    /// </summary>
    public static bool IsStable(ReadOnlySpan<double> samplesMs, BenchBudget budget)
    {
        var stability = new MedianStability(budget);
        for (int n = 1; n <= samplesMs.Length; n++)
            if (stability.StableAfter(samplesMs[..n])) return true;
        return false;
    }

    /// <summary>
    /// The stopping rule: from <see cref="BenchBudget.MinRuns"/> on, the median is re-checked every
    /// <see cref="CheckEvery"/> runs and must hold within tolerance for <see cref="StableChecks"/> checks in a row.
    /// </summary>
    sealed class MedianStability(BenchBudget budget)
    {
        readonly double[] scratch = new double[budget.MaxRuns];
        double lastMedian = double.NaN;
        int stableInARow;

        /// <summary>Called with all samples so far after each new one; allocation-free (it runs inside the timing loop).</summary>
        public bool StableAfter(ReadOnlySpan<double> samples)
        {
            int n = samples.Length;
            if (n < budget.MinRuns || n % CheckEvery != 0 || n > scratch.Length) return false;
            var s = scratch.AsSpan(0, n);
            samples.CopyTo(s);
            s.Sort();
            double median = LatencyStats.Percentile(s, 0.5);
            stableInARow = Math.Abs(median - lastMedian) <= budget.StableTolerance * median ? stableInARow + 1 : 0;
            lastMedian = median;
            return stableInARow >= StableChecks;
        }
    }
}
