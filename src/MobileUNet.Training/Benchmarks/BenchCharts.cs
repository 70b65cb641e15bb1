using System.Globalization;
using MobileUNet.Platform;
using ScottPlot;

namespace MobileUNet.Benchmarks;

/// <summary>A chart ready to write: PNG bytes and SVG text of the same plot.</summary>
internal sealed record Chart(string Name, byte[] Png, string Svg)
{
    /// <summary>Writes NAME.png and NAME.svg into <paramref name="directory"/>, each atomically; returns the paths.</summary>
    public IReadOnlyList<string> Save(string directory)
    {
        var png = Path.Combine(directory, Name + ".png");
        var svg = Path.Combine(directory, Name + ".svg");
        AtomicFile.WriteAllBytes(png, Png);
        AtomicFile.WriteAllBytes(svg, System.Text.Encoding.UTF8.GetBytes(Svg));
        return [png, svg];
    }

    internal static Chart Of(string name, Plot plot, int width = 900, int height = 560) =>
        new(name, plot.GetImage(width, height).GetImageBytes(ImageFormat.Png), plot.GetSvgXml(width, height));
}

/// <summary>The bench's charts, drawn from its records: latency vs size, FPS heatmap, encoder/decoder bars, block bars, merge.</summary>
internal static class BenchCharts
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static IReadOnlyList<Chart> All(BenchDocument doc)
    {
        var charts = new List<Chart> { LatencyVsSize([doc]) };
        var series = BenchTables.SeriesOf([doc]);
        for (int i = 0; i < series.Count; i++)
            charts.Add(FpsHeatmap(series[i], series.Count == 1 ? "fps-heatmap" : string.Create(Inv, $"fps-heatmap-{i + 1}")));
        if (doc.Results.Any(r => r.Part == BenchPart.Encoder)) charts.Add(PartsBars(doc));
        if (doc.Blocks.Count > 0) charts.Add(BlockBars(doc));
        return charts;
    }

    /// <summary>Median latency against input size, one line per alpha and series.</summary>
    public static Chart LatencyVsSize(IReadOnlyList<BenchDocument> docs, string name = "latency-vs-size")
    {
        var plot = new Plot();
        var series = BenchTables.SeriesOf(docs);
        foreach (var s in series)
            foreach (var alphaGroup in s.Results.GroupBy(r => r.Spec.Alpha).OrderByDescending(g => g.Key))
            {
                var points = alphaGroup.OrderBy(r => r.Spec.InputSize).ToList();
                var line = plot.Add.Scatter(points.Select(r => (double)r.Spec.InputSize).ToArray(), points.Select(r => r.Latency.MedianMs).ToArray());
                line.LegendText = series.Count == 1 ? string.Create(Inv, $"alpha {alphaGroup.Key:0.###}") : string.Create(Inv, $"alpha {alphaGroup.Key:0.###}, {s.Name}");
                line.MarkerSize = 7;
            }
        var realtime = plot.Add.HorizontalLine(1000.0 / BenchDocument.RealtimeFps);
        realtime.LinePattern = LinePattern.Dashed;
        realtime.LegendText = "30 FPS";
        plot.Title("Median latency vs input size");
        plot.XLabel("input size (px)");
        plot.YLabel("median latency (ms)");
        plot.ShowLegend(Alignment.UpperLeft);
        return Chart.Of(name, plot);
    }

    /// <summary>FPS at the median for every alpha x size of one series, with the value written in each cell.</summary>
    public static Chart FpsHeatmap(BenchTables.SeriesResults series, string name = "fps-heatmap")
    {
        var alphas = series.Results.Select(r => r.Spec.Alpha).Distinct().OrderByDescending(a => a).ToArray();
        var sizes = series.Results.Select(r => r.Spec.InputSize).Distinct().OrderBy(s => s).ToArray();
        var values = new double[alphas.Length, sizes.Length];
        var plot = new Plot();
        for (int i = 0; i < alphas.Length; i++)
            for (int j = 0; j < sizes.Length; j++)
            {
                var r = series.Results.FirstOrDefault(r => r.Spec.Alpha == alphas[i] && r.Spec.InputSize == sizes[j]);
                values[i, j] = r?.Fps ?? double.NaN;
            }
        var heatmap = plot.Add.Heatmap(values);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        plot.Add.ColorBar(heatmap).Label = "FPS";
        // Heatmap cell (row i, column j) is centred at x = j, y = rows - 1 - i.
        for (int i = 0; i < alphas.Length; i++)
            for (int j = 0; j < sizes.Length; j++)
            {
                if (double.IsNaN(values[i, j])) continue;
                var text = plot.Add.Text(string.Create(Inv, $"{values[i, j]:0.#}{(values[i, j] >= BenchDocument.RealtimeFps ? " *" : "")}"), j, alphas.Length - 1 - i);
                text.LabelFontColor = Colors.White;
                text.LabelBackgroundColor = Colors.Black.WithAlpha(0.4);
                text.LabelAlignment = Alignment.MiddleCenter;
            }
        plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, sizes.Length).Select(j => (double)j)], [.. sizes.Select(s => s.ToString(Inv))]);
        plot.Axes.Left.SetTicks([.. Enumerable.Range(0, alphas.Length).Select(i => (double)(alphas.Length - 1 - i))], [.. alphas.Select(a => a.ToString("0.###", Inv))]);
        plot.Title($"FPS (* = 30 FPS or more): {series.Name}");
        plot.XLabel("input size (px)");
        plot.YLabel("alpha");
        return Chart.Of(name, plot, 800, 600);
    }

    /// <summary>
    /// Encoder time stacked under decoder time, per config; one stack per decoder upsampling variant, so the
    /// chart shows which part dominates and which decoder suits this processor.
    /// </summary>
    public static Chart PartsBars(BenchDocument doc, string name = "encoder-decoder")
    {
        var plot = new Plot();
        var groups = BenchTables.PartGroups(doc).Where(g => g.Encoder is not null).ToList();
        var variants = groups.SelectMany(g => g.Decoders.Keys).Distinct().OrderBy(v => v).ToList();
        var palette = new ScottPlot.Palettes.Category10();
        var encoderColor = Colors.Gray;
        var bars = new List<Bar>();
        var ticks = new List<(double, string)>();
        int slot = variants.Count + 1;
        for (int g = 0; g < groups.Count; g++)
        {
            var group = groups[g];
            double encoderMs = group.Encoder!.Latency.MedianMs;
            for (int v = 0; v < variants.Count; v++)
            {
                if (!group.Decoders.TryGetValue(variants[v], out var decoder)) continue;
                double x = g * slot + v;
                bars.Add(new Bar { Position = x, ValueBase = 0, Value = encoderMs, FillColor = encoderColor });
                bars.Add(new Bar { Position = x, ValueBase = encoderMs, Value = encoderMs + decoder.Latency.MedianMs, FillColor = palette.GetColor(v) });
            }
            string label = string.Create(Inv, $"{group.Key.Size}/{group.Key.Alpha:0.##}");
            if (groups.Select(x => (x.Key.Backend, x.Key.Threads, x.Key.Precision, x.Key.TransposedConv)).Distinct().Count() > 1)
            {
                string variant = BenchModel.Describe(null, group.Key.Precision, group.Key.TransposedConv);
                label += string.Create(Inv, $"\n{group.Key.Backend} x{group.Key.Threads}") + (variant.Length == 0 ? "" : " " + variant);
            }
            ticks.Add((g * slot + (variants.Count - 1) / 2.0, label));
        }
        plot.Add.Bars(bars);
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "encoder", FillColor = encoderColor });
        for (int v = 0; v < variants.Count; v++)
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = $"decoder {variants[v]}", FillColor = palette.GetColor(v) });
        plot.Axes.Bottom.SetTicks([.. ticks.Select(t => t.Item1)], [.. ticks.Select(t => t.Item2)]);
        plot.Axes.Margins(bottom: 0);
        plot.Title("Encoder + decoder median latency (size/alpha)");
        plot.YLabel("median latency (ms)");
        plot.ShowLegend(Alignment.UpperRight);
        return Chart.Of(name, plot, Math.Max(900, 40 * groups.Count * slot), 560);
    }

    /// <summary>Conv block vs depthwise block median latency at each encoder stage's shape.</summary>
    public static Chart BlockBars(BenchDocument doc, string name = "conv-vs-depthwise")
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var groups = doc.Blocks.GroupBy(b => (b.Backend, b.ExecutionProvider, b.Threads, b.Shape.Stage)).ToList();
        var bars = new List<Bar>();
        var ticks = new List<(double, string)>();
        bool manySeries = doc.Blocks.Select(b => (b.Backend, b.Threads)).Distinct().Count() > 1;
        // Conv blocks cost up to ~9x the MACs of depthwise ones and the stages span two decades of latency:
        // a log axis keeps the small stages readable.
        double lo = Math.Floor(Math.Log10(doc.Blocks.Min(b => b.Latency.MedianMs)));
        double hi = Math.Ceiling(Math.Log10(doc.Blocks.Max(b => b.Latency.MedianMs)));
        for (int g = 0; g < groups.Count; g++)
        {
            foreach (var b in groups[g])
            {
                int k = b.Block == BlockKind.Conv ? 0 : 1;
                bars.Add(new Bar { Position = g * 3 + k, ValueBase = lo, Value = Math.Log10(b.Latency.MedianMs), FillColor = palette.GetColor(k) });
            }
            string label = groups[g].Key.Stage + (manySeries ? string.Create(Inv, $"\n{groups[g].Key.Backend} x{groups[g].Key.Threads}") : "");
            ticks.Add((g * 3 + 0.5, label));
        }
        plot.Add.Bars(bars);
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "3x3 conv block", FillColor = palette.GetColor(0) });
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "depthwise-separable block", FillColor = palette.GetColor(1) });
        plot.Axes.Bottom.SetTicks([.. ticks.Select(t => t.Item1)], [.. ticks.Select(t => t.Item2)]);
        plot.Axes.Margins(bottom: 0);
        var decades = Enumerable.Range((int)lo, (int)(hi - lo) + 1).Select(e => (double)e).ToArray();
        plot.Axes.Left.SetTicks(decades, [.. decades.Select(e => Math.Pow(10, e).ToString("0.###", Inv))]);
        plot.Axes.SetLimitsY(lo, hi);
        plot.Title("Conv block vs depthwise block at each encoder stage");
        plot.YLabel("median latency (ms, log scale)");
        plot.ShowLegend(Alignment.UpperRight);
        return Chart.Of(name, plot, Math.Max(900, 45 * groups.Count * 3), 560);
    }

    /// <summary>Several machines side by side: grouped bars of median latency per config, one colour per series.</summary>
    public static Chart MergedBars(IReadOnlyList<BenchDocument> docs, string name = "merged")
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var series = BenchTables.SeriesOf(docs);
        var configs = BenchTables.ConfigsOf(docs);
        int slot = series.Count + 1;
        var bars = new List<Bar>();
        for (int c = 0; c < configs.Count; c++)
            for (int s = 0; s < series.Count; s++)
            {
                var r = series[s].Results.FirstOrDefault(r => r.Spec.Alpha == configs[c].Alpha && r.Spec.InputSize == configs[c].Size);
                if (r is not null) bars.Add(new Bar { Position = c * slot + s, Value = r.Latency.MedianMs, FillColor = palette.GetColor(s) });
            }
        plot.Add.Bars(bars);
        for (int s = 0; s < series.Count; s++)
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = series[s].Name, FillColor = palette.GetColor(s) });
        plot.Axes.Bottom.SetTicks([.. configs.Select((c, i) => i * slot + (series.Count - 1) / 2.0)],
            [.. configs.Select(c => string.Create(Inv, $"{c.Size}/{c.Alpha:0.##}"))]);
        plot.Axes.Margins(bottom: 0);
        plot.Title("Median latency per config (size/alpha), machines side by side");
        plot.YLabel("median latency (ms)");
        plot.ShowLegend(Alignment.UpperRight);
        return Chart.Of(name, plot, Math.Max(900, 30 * configs.Count * slot), 560);
    }
}
