using System.Globalization;
using System.Text.Json;
using MobileUNet.Evaluation;
using MobileUNet.Model;
using MobileUNet.Platform;
using ScottPlot;

namespace MobileUNet.Benchmarks;

/// <summary>The latency budget: a frame rate to sustain, or a latency not to exceed.</summary>
public sealed record LatencyBudget(double MaxLatencyMs, string Description)
{
    public static LatencyBudget Fps(double fps) => fps > 0
        ? new(1000.0 / fps, string.Create(CultureInfo.InvariantCulture, $"{fps:0.##} FPS ({1000.0 / fps:0.##} ms)"))
        : throw new ArgumentOutOfRangeException(nameof(fps), "the frame rate must be positive.");

    public static LatencyBudget Latency(double ms) => ms > 0
        ? new(ms, string.Create(CultureInfo.InvariantCulture, $"{ms:0.##} ms"))
        : throw new ArgumentOutOfRangeException(nameof(ms), "the latency must be positive.");
}

/// <summary>
/// A config with its accuracy and its fastest measured way to run on the benched machine: any backend, thread count
/// and precision the bench recorded, so an int8 graph is chosen where it is the fastest. The IoU is the config's
/// (from the accuracy file); an int8 export's own IoU can differ slightly (the shipped models' cards give both).
/// </summary>
public sealed record Candidate(ModelSpec Spec, double Iou, BenchResult Fastest)
{
    public double LatencyMs => Fastest.Latency.MedianMs;
    public string Label => string.Create(CultureInfo.InvariantCulture, $"{Spec.InputSize}/{Spec.Alpha:0.##}");
}

/// <summary>
/// The answer: the most accurate candidate within the budget (ties to the faster), or none; the Pareto front
/// (no other candidate is both faster and at least as accurate); configs present on one side only.
/// </summary>
public sealed record Recommendation(LatencyBudget Budget, string Machine, Candidate? Chosen, IReadOnlyList<Candidate> Candidates,
    IReadOnlyList<Candidate> ParetoFront, IReadOnlyList<ModelSpec> MissingLatency, IReadOnlyList<ModelSpec> MissingAccuracy)
{
    public string Summary()
    {
        var inv = CultureInfo.InvariantCulture;
        if (Candidates.Count == 0)
            return "No configuration has both a latency and an accuracy record: check that the bench and accuracy files cover the same specs.";
        if (Chosen is null)
        {
            var fastest = Candidates.MinBy(c => c.LatencyMs)!;
            return string.Create(inv,
                $"No configuration meets {Budget.Description} on {Machine}: the fastest, {fastest.Label} ({fastest.Spec.Label}), takes {fastest.LatencyMs:0.00} ms ({fastest.Fastest.RunsOn} x{fastest.Fastest.Threads}) at IoU {fastest.Iou:0.000}.");
        }
        var c = Chosen;
        return string.Create(inv,
            $"Recommended for {Budget.Description} on {Machine}: size {c.Spec.InputSize} / alpha {c.Spec.Alpha:0.###} ({c.Spec.Label}), IoU {c.Iou:0.000}, {c.LatencyMs:0.00} ms median ({1000 / c.LatencyMs:0.0} FPS) on {c.Fastest.RunsOn} x{c.Fastest.Threads}.");
    }
}

/// <summary>Speed against accuracy: picks the configuration to deploy on a benched machine.</summary>
public static class Recommender
{
    /// <param name="backend">Only results of this backend (null: any).</param>
    /// <param name="threads">Only results at this thread count (null: any).</param>
    /// <param name="precisions">Only results of these precisions (null: any).</param>
    public static Recommendation Recommend(BenchDocument bench, AccuracyDocument accuracy, LatencyBudget budget, string? backend = null, int? threads = null,
        IReadOnlyCollection<Export.OnnxPrecision>? precisions = null)
    {
        var results = bench.Results.Where(r => r.Part == BenchPart.Model && r.Batch == 1
            && (backend is null || string.Equals(r.Backend, backend, StringComparison.OrdinalIgnoreCase))
            && (threads is null || r.Threads == threads)
            && (precisions is null || precisions.Contains(r.Precision))).ToList();
        var fastest = results.GroupBy(r => r.Spec).ToDictionary(g => g.Key, g => g.MinBy(r => r.Latency.MedianMs)!);
        var candidates = new List<Candidate>();
        var missingLatency = new List<ModelSpec>();
        foreach (var a in accuracy.Results)
        {
            if (fastest.TryGetValue(a.Spec, out var r)) candidates.Add(new Candidate(a.Spec, a.Iou, r));
            else missingLatency.Add(a.Spec);
        }
        var missingAccuracy = fastest.Keys.Where(s => accuracy.Results.All(a => a.Spec != s)).ToList();
        var chosen = candidates.Where(c => c.LatencyMs <= budget.MaxLatencyMs)
            .OrderByDescending(c => c.Iou).ThenBy(c => c.LatencyMs).FirstOrDefault();
        return new Recommendation(budget, bench.Machine.Label, chosen, candidates, ParetoFront(candidates), missingLatency, missingAccuracy);
    }

    /// <summary>Candidates no other candidate beats on both latency (lower) and IoU (at least as high), by latency.</summary>
    public static IReadOnlyList<Candidate> ParetoFront(IEnumerable<Candidate> candidates)
    {
        var front = new List<Candidate>();
        double bestIou = double.NegativeInfinity;
        foreach (var c in candidates.OrderBy(c => c.LatencyMs).ThenByDescending(c => c.Iou))
        {
            if (c.Iou <= bestIou) continue;
            front.Add(c);
            bestIou = c.Iou;
        }
        return front;
    }

    /// <summary>Latency vs IoU, every point labelled size/alpha, the Pareto front joined, the budget and the choice marked.</summary>
    internal static Chart ParetoChart(Recommendation rec, string name = "pareto")
    {
        var inv = CultureInfo.InvariantCulture;
        var plot = new Plot();
        var all = plot.Add.ScatterPoints(rec.Candidates.Select(c => c.LatencyMs).ToArray(), rec.Candidates.Select(c => c.Iou).ToArray());
        all.LegendText = "config";
        all.MarkerSize = 8;
        foreach (var c in rec.Candidates)
        {
            var label = plot.Add.Text(c.Label, c.LatencyMs, c.Iou);
            label.LabelFontSize = 11;
            label.OffsetY = -6;
        }
        if (rec.ParetoFront.Count > 0)
        {
            var front = plot.Add.ScatterLine(rec.ParetoFront.Select(c => c.LatencyMs).ToArray(), rec.ParetoFront.Select(c => c.Iou).ToArray());
            front.LegendText = "Pareto front";
            front.LinePattern = LinePattern.Dashed;
        }
        var budget = plot.Add.VerticalLine(rec.Budget.MaxLatencyMs);
        budget.LegendText = "budget " + rec.Budget.Description;
        budget.Color = Colors.Red;
        if (rec.Chosen is { } chosen)
        {
            var mark = plot.Add.ScatterPoints(new[] { chosen.LatencyMs }, new[] { chosen.Iou });
            mark.MarkerSize = 16;
            mark.MarkerShape = MarkerShape.OpenCircle;
            mark.Color = Colors.Red;
            mark.LegendText = "recommended " + chosen.Label;
        }
        plot.Title(string.Create(inv, $"Speed vs accuracy on {rec.Machine}"));
        plot.XLabel("median latency (ms)");
        plot.YLabel("IoU");
        plot.ShowLegend(Alignment.LowerRight);
        return Chart.Of(name, plot);
    }
}
