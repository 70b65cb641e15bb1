using System.Diagnostics;
using MobileUNet.Inference;
using MobileUNet.Model;

namespace MobileUNet.Export;

/// <summary>One exported variant to time.</summary>
public sealed record ExportVariant(string Label, ModelSpec Spec, OnnxPrecision Precision, byte[] Onnx);

/// <summary>Latency of one variant through <see cref="OnnxSegmenter.Run"/> (batch 1), in milliseconds.</summary>
public sealed record ExportLatencyResult(string Label, ModelSpec Spec, OnnxPrecision Precision, int Threads, int Runs, double MedianMs, double P10Ms, double P90Ms);

/// <summary>
/// Times exported variants against each other in one process. All sessions stay alive and are timed in
/// interleaved rounds, so a change in background load hits every variant alike; spinning is off because idle
/// spinning threads of one session would steal the cores of the one being timed (DESIGN.md section 3).
/// </summary>
public static class ExportLatency
{
    public static IReadOnlyList<ExportLatencyResult> Measure(IReadOnlyList<ExportVariant> variants, int threads, int runs,
        int runsPerRound = 10, IProgress<double>? progress = null, string? optimizedGraphDir = null)
    {
        var options = new RuntimeOptions { Threads = threads, AllowSpinning = false };
        if (optimizedGraphDir is not null) Directory.CreateDirectory(optimizedGraphDir);
        var segmenters = variants.Select(v => OnnxSegmenter.FromBytes(v.Onnx, v.Label, optimizedGraphDir is null ? options
            : options with { OptimizedModelPath = Path.Combine(optimizedGraphDir, v.Label + ".optimized.onnx") })).ToList();
        try
        {
            var inputs = segmenters.Select(s => Int8Calibration.SyntheticImage(s.Spec.InputSize, seed: 12345)).ToList();
            var outputs = segmenters.Select(s => new float[s.Spec.InputSize * s.Spec.InputSize]).ToList();
            var samples = segmenters.Select(_ => new List<double>(runs)).ToList();
            for (int i = 0; i < segmenters.Count; i++)
                for (int w = 0; w < 5; w++) segmenters[i].Run(inputs[i], outputs[i]); // warm-up: arena, pre-packing, caches

            int rounds = (runs + runsPerRound - 1) / runsPerRound;
            for (int round = 0; round < rounds; round++)
            {
                for (int i = 0; i < segmenters.Count; i++)
                {
                    for (int r = 0; r < runsPerRound && samples[i].Count < runs; r++)
                    {
                        long start = Stopwatch.GetTimestamp();
                        segmenters[i].Run(inputs[i], outputs[i]);
                        samples[i].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                    }
                }
                progress?.Report((round + 1.0) / rounds);
            }
            return variants.Select((v, i) =>
            {
                var sorted = samples[i].Order().ToArray();
                return new ExportLatencyResult(v.Label, v.Spec, v.Precision, threads, sorted.Length,
                    Percentile(sorted, 0.5), Percentile(sorted, 0.1), Percentile(sorted, 0.9));
            }).ToList();
        }
        finally
        {
            foreach (var s in segmenters) s.Dispose();
        }
    }

    static double Percentile(double[] sorted, double q) => sorted[(int)Math.Round(q * (sorted.Length - 1))];
}
