using MobileUNet.Benchmarks;
using MobileUNet.Export;
using MobileUNet.Model;
using MobileUNet.Evaluation;

namespace MobileUNet.Tests;

/// <summary>
/// Bench and accuracy records with round, made-up numbers for testing tables, merge and recommend. They are
/// test inputs, not measurements: the machine is labelled "fixture-..." so they can never pass for one.
/// </summary>
public static class BenchFixtures
{
    public static MachineInfo Machine(string label) =>
        new(label, "Fixture CPU 9000", 2, "Linux fixture", "X64", ".NET 10.0.0", "2.10.0", null);

    public static LatencyStats Stats(double median, double spread = 0.1) =>
        new(100, median, median * (1 - spread / 2), median * (1 + spread / 2), median, median * spread / 3, median * 0.9, median * 1.5);

    public static BenchResult Result(double alpha, int size, double medianMs, BenchPart part = BenchPart.Model, Upsampling up = Upsampling.TransposedConv,
        int threads = 2, double spread = 0.1, string backend = "torch", OnnxPrecision precision = OnnxPrecision.Fp32, TransposedConvForm? form = null) =>
        new(backend, "cpu", threads, 1, new ModelSpec(alpha, size, up), part, 1_000_000, 200_000_000, Stats(medianMs, spread), true,
            new MemoryUse(300L << 20, 200L << 20, 10L << 20, "config"), TimedSeconds: medianMs * 100 / 1000, precision, form);

    public static BenchDocument Document(string label, params BenchResult[] results) =>
        new(BenchDocument.CurrentSchema, new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero), Machine(label),
            new BenchSettings(["torch"], null, [2], 1, 2.0, null, false, false, "mobileunet bench --fixture"), results, [], []);

    /// <summary>A 2 x 2 grid: alpha {1, 0.5} x size {224, 128}, at 40, 15, 12, 5 ms.</summary>
    public static BenchDocument Grid(string label = "fixture-a", double scale = 1) =>
        Document(label,
            Result(1, 224, 40 * scale), Result(1, 128, 15 * scale),
            Result(0.5, 224, 12 * scale), Result(0.5, 128, 5 * scale));

    /// <summary>IoU of the same four configs: the larger and wider, the more accurate.</summary>
    public static AccuracyDocument Accuracy() =>
        new(AccuracyDocument.CurrentSchema, "fixture",
        [
            new AccuracyRecord(new ModelSpec(1, 224), 0.92),
            new AccuracyRecord(new ModelSpec(1, 128), 0.88),
            new AccuracyRecord(new ModelSpec(0.5, 224), 0.90),
            new AccuracyRecord(new ModelSpec(0.5, 128), 0.86),
        ]);
}
