using System.Text.Json.Serialization;

namespace MobileUNet.Benchmarks;

/// <summary>
/// Summary of one configuration's timed runs, in milliseconds per inference call (one batch).
/// Percentiles interpolate linearly between order statistics (numpy's default), so small samples give
/// the values a reader would compute by hand.
/// </summary>
public sealed record LatencyStats(int Runs, double MedianMs, double P10Ms, double P90Ms, double MeanMs, double StdevMs, double MinMs, double MaxMs)
{
    /// <summary>Run-to-run spread above which a result is flagged: (p90 - p10) / median.</summary>
    public const double NoisySpread = 0.2;

    /// <summary>Frames per second at the median latency (one call processes one batch).</summary>
    public double Fps(int batch = 1) => MedianMs > 0 ? 1000.0 * batch / MedianMs : double.PositiveInfinity;

    /// <summary>(p90 - p10) / median: 0 for perfectly repeatable runs.</summary>
    [JsonIgnore] public double Spread => MedianMs > 0 ? (P90Ms - P10Ms) / MedianMs : 0;

    /// <summary>True when the spread says other work shared the processor (or clocks changed) while this was timed.</summary>
    [JsonIgnore] public bool IsNoisy => Spread > NoisySpread;

    public static LatencyStats Of(ReadOnlySpan<double> samplesMs)
    {
        if (samplesMs.IsEmpty) throw new ArgumentException("Latency statistics need at least one sample.", nameof(samplesMs));
        var sorted = samplesMs.ToArray();
        Array.Sort(sorted);
        double mean = 0;
        foreach (var s in sorted) mean += s;
        mean /= sorted.Length;
        double sq = 0;
        foreach (var s in sorted) sq += (s - mean) * (s - mean);
        // Sample standard deviation (n - 1): the runs are a sample of what this machine does.
        double stdev = sorted.Length > 1 ? Math.Sqrt(sq / (sorted.Length - 1)) : 0;
        return new LatencyStats(sorted.Length, Percentile(sorted, 0.5), Percentile(sorted, 0.1), Percentile(sorted, 0.9),
            mean, stdev, sorted[0], sorted[^1]);
    }

    /// <summary>Linear interpolation between the closest ranks of a sorted sample (numpy "linear").</summary>
    public static double Percentile(ReadOnlySpan<double> sorted, double q)
    {
        if (sorted.IsEmpty) throw new ArgumentException("Percentile of an empty sample.", nameof(sorted));
        if (q is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(q), "q must be in [0, 1].");
        double rank = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(rank);
        int hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (rank - lo) * (sorted[hi] - sorted[lo]);
    }
}
