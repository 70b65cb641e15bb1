using System.Globalization;
using MobileUNet.Model;

namespace MobileUNet.Benchmarks;

/// <summary>
/// The speed study's grid and what is timed per configuration, in one place: `mobileunet bench` takes its
/// defaults from here and runs these jobs; the browser bench page (`serve`'s /bench) gets the same jobs from
/// the server, so a phone and this machine time the same things.
/// </summary>
internal static class BenchGrid
{
    /// <summary>The original's four width multipliers, as `bench --alphas` spells its default.</summary>
    public const string DefaultAlphas = "1,0.75,0.5,0.25";

    /// <summary>The original's four input sizes, as `bench --sizes` spells its default.</summary>
    public const string DefaultSizes = "224,192,160,128";

    /// <summary>The block study runs at the encoder stage shapes of this spec unless told otherwise.</summary>
    public const double DefaultBlockAlpha = 1.0;
    public const int DefaultBlockSize = 224;

    /// <summary>Timed seconds per configuration at most (timing stops earlier once the median is stable).</summary>
    public const double DefaultBudgetSeconds = 2.0;

    public static IReadOnlyList<double> Alphas { get; } =
        [.. DefaultAlphas.Split(',').Select(a => double.Parse(a, NumberStyles.Float, CultureInfo.InvariantCulture))];

    public static IReadOnlyList<int> Sizes { get; } =
        [.. DefaultSizes.Split(',').Select(s => int.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture))];

    /// <summary>
    /// What one spec is timed as: the whole model; with <paramref name="parts"/> also its encoder, and its decoder
    /// in every upsampling of <paramref name="decoderVariants"/> (the decoder is where the variants differ).
    /// </summary>
    public static IReadOnlyList<(ModelSpec Spec, BenchPart Part)> Jobs(ModelSpec spec, bool parts, IReadOnlyList<Upsampling> decoderVariants)
    {
        var jobs = new List<(ModelSpec Spec, BenchPart Part)> { (spec, BenchPart.Model) };
        if (parts)
        {
            jobs.Add((spec, BenchPart.Encoder));
            jobs.AddRange(decoderVariants.Select(v => (spec with { Upsampling = v }, BenchPart.Decoder)));
        }
        return jobs;
    }

    /// <summary>The block study: at each encoder stage's shape of <paramref name="blockSpec"/>, a conv block then a depthwise block.</summary>
    public static IReadOnlyList<(BlockShape Shape, BlockKind Kind)> BlockJobs(ModelSpec blockSpec) =>
        [.. from shape in BlockShape.EncoderStages(blockSpec) from kind in new[] { BlockKind.Conv, BlockKind.Depthwise } select (shape, kind)];
}
