using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MobileUNet.Benchmarks;
using MobileUNet.Export;
using MobileUNet.Model;
using MobileUNet.Evaluation;

namespace MobileUNet.Tests;

public class LatencyStatsTests
{
    [Fact]
    public void Statistics_of_one_to_ten_match_hand_computed_values()
    {
        var s = LatencyStats.Of([7, 1, 10, 4, 2, 9, 3, 8, 5, 6]);
        Assert.Equal(10, s.Runs);
        Assert.Equal(5.5, s.MedianMs, 12);
        Assert.Equal(1.9, s.P10Ms, 12);   // rank 0.1 * 9 = 0.9: 1 + 0.9 * (2 - 1)
        Assert.Equal(9.1, s.P90Ms, 12);   // rank 8.1: 9 + 0.1 * (10 - 9)
        Assert.Equal(5.5, s.MeanMs, 12);
        Assert.Equal(Math.Sqrt(82.5 / 9), s.StdevMs, 12); // sum of squared deviations 82.5, n - 1 = 9
        Assert.Equal(1, s.MinMs);
        Assert.Equal(10, s.MaxMs);
        Assert.Equal(1000 / 5.5, s.Fps(), 9);
        Assert.Equal(4 * 1000 / 5.5, s.Fps(batch: 4), 9);
    }

    [Fact]
    public void Odd_sample_median_is_the_middle_value_and_one_sample_has_zero_stdev()
    {
        Assert.Equal(2, LatencyStats.Of([3, 1, 2]).MedianMs);
        var one = LatencyStats.Of([4.25]);
        Assert.Equal(4.25, one.P10Ms);
        Assert.Equal(4.25, one.P90Ms);
        Assert.Equal(0, one.StdevMs);
    }

    [Fact]
    public void Spread_over_a_fifth_of_the_median_is_flagged_noisy()
    {
        var steady = LatencyStats.Of([10, 10.2, 9.9, 10.1, 10, 10.3, 9.8, 10, 10.1, 10]);
        Assert.False(steady.IsNoisy);
        var noisy = LatencyStats.Of([10, 10, 10, 10, 10, 10, 10, 10, 30, 40]);
        Assert.True(noisy.IsNoisy, noisy.Spread.ToString(CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Empty_sample_is_refused()
    {
        Assert.Throws<ArgumentException>(() => LatencyStats.Of([]));
    }

    [Fact]
    public void Meets_realtime_and_gflops_follow_from_the_median()
    {
        var r = BenchFixtures.Result(1, 224, 20);  // 200 MMACs at 20 ms
        Assert.True(r.MeetsRealtime);
        Assert.Equal(50, r.Fps, 9);
        Assert.Equal(2.0 * 200_000_000 / 20e6, r.GflopPerSecond, 9);
        Assert.False(BenchFixtures.Result(1, 224, 40).MeetsRealtime);
    }
}

public class LatencyRunnerTests
{
    [Fact]
    public void Replayed_stability_agrees_with_the_rule_the_timing_loop_applies()
    {
        var budget = new BenchBudget(minRuns: 15);
        // Checks at 20, 30, 40, 50 runs: the first has nothing to compare with, so the third holding check (at 50) is stable.
        var steady = Enumerable.Repeat(5.0, 50).ToArray();
        Assert.True(LatencyRunner.IsStable(steady, budget));
        Assert.False(LatencyRunner.IsStable(steady.AsSpan(0, 49), budget));
        // Too few runs for any check, and a median that doubles between checks: never stable.
        Assert.False(LatencyRunner.IsStable(steady.AsSpan(0, 5), budget));
        var drifting = Enumerable.Range(0, 60).Select(i => Math.Pow(2, i / 10)).ToArray();
        Assert.False(LatencyRunner.IsStable(drifting, budget));
    }

    [Fact]
    public void A_steady_runner_stops_once_stable_after_the_same_number_of_runs_the_replay_says()
    {
        var samples = LatencyRunner.Measure(new SleepRunner(), new BenchBudget(seconds: 30, minRuns: 15, warmupSeconds: 0, warmupRuns: 1, stableTolerance: 1));
        // Tolerance 1 accepts any median once there is one to compare with: checks at 20 (the first), 30, 40, 50; stable at 50.
        Assert.True(samples.Stable);
        Assert.Equal(50, samples.Ms.Length);
        Assert.True(LatencyRunner.IsStable(samples.Ms, new BenchBudget(minRuns: 15, stableTolerance: 1)));
    }

    sealed class SleepRunner : IBenchRunner
    {
        public void RunOnce() => Thread.SpinWait(1000);
        public IReadOnlyList<long[]> RunAndShapes() => [];
        public void Dispose() { }
    }

    [Fact]
    public void Torch_runner_is_timed_at_least_min_runs_and_within_the_budget()
    {
        using var backend = new TorchBackend();
        using var runner = backend.Prepare(new BenchModel(new ModelSpec(0.25, 32)), BenchPart.Model, batch: 1, threads: 1);
        var budget = new BenchBudget(seconds: 0.3, minRuns: 5, warmupSeconds: 0.05);
        var samples = LatencyRunner.Measure(runner, budget);
        Assert.True(samples.Ms.Length >= 5);
        Assert.All(samples.Ms, ms => Assert.True(ms > 0));
        Assert.True(samples.TimedSeconds < 5, $"timed {samples.TimedSeconds} s for a 0.3 s budget");
    }

    [Theory]
    [InlineData(BenchPart.Encoder)]
    [InlineData(BenchPart.Decoder)]
    public void Parts_run_on_their_own(BenchPart part)
    {
        using var backend = new TorchBackend();
        using var runner = backend.Prepare(new BenchModel(new ModelSpec(0.25, 32, Upsampling.NearestConv)), part, batch: 2, threads: 1);
        runner.RunOnce();
        Assert.Equal(BenchShapes.Expected(new ModelSpec(0.25, 32, Upsampling.NearestConv), part, batch: 2), runner.RunAndShapes(), BenchShapes.Comparer);
    }

    [Theory]
    [InlineData(OnnxPrecision.Int8, null)]
    [InlineData(OnnxPrecision.Fp32, TransposedConvForm.ConvDepthToSpace)]
    public void Torch_backend_refuses_a_precision_or_form_of_an_onnx_graph(OnnxPrecision precision, TransposedConvForm? form)
    {
        using var backend = new TorchBackend();
        var e = Assert.Throws<ArgumentException>(() => backend.Prepare(new BenchModel(new ModelSpec(0.25, 32), null, precision, form), BenchPart.Model, 1, 1));
        Assert.Contains("onnx backend", e.Message);
    }

    [Fact]
    public void Torch_backend_refuses_a_file_that_is_not_munet()
    {
        using var backend = new TorchBackend();
        var e = Assert.Throws<ArgumentException>(() => backend.Prepare(new BenchModel(new ModelSpec(0.25, 32), "model.onnx"), BenchPart.Model, 1, 1));
        Assert.Contains("model.onnx", e.Message);
    }
}

public class BlockShapeTests
{
    [Fact]
    public void The_grid_jobs_are_the_whole_model_then_encoder_and_each_decoder_variant_and_two_blocks_per_stage()
    {
        var spec = new ModelSpec(0.5, 128);
        Assert.Equal([(spec, BenchPart.Model)], BenchGrid.Jobs(spec, parts: false, Enum.GetValues<Upsampling>()));
        var parts = BenchGrid.Jobs(spec, parts: true, Enum.GetValues<Upsampling>());
        Assert.Equal([BenchPart.Model, BenchPart.Encoder, BenchPart.Decoder, BenchPart.Decoder, BenchPart.Decoder], parts.Select(j => j.Part));
        Assert.Equal(Enum.GetValues<Upsampling>(), parts.Skip(2).Select(j => j.Spec.Upsampling));
        var blocks = BenchGrid.BlockJobs(spec);
        Assert.Equal(2 * BlockShape.EncoderStages(spec).Count, blocks.Count);
        Assert.Equal([BlockKind.Conv, BlockKind.Depthwise], blocks.Take(2).Select(b => b.Kind));
        Assert.Equal([1, 0.75, 0.5, 0.25], BenchGrid.Alphas);
        Assert.Equal([224, 192, 160, 128], BenchGrid.Sizes);
    }

    [Theory]
    [InlineData(0.5, 64)]
    [InlineData(0.25, 96)]
    public void Depthwise_stage_shapes_match_the_model_summary(double alpha, int size)
    {
        var spec = new ModelSpec(alpha, size);
        var summary = ModelSummary.Of(spec);
        var stages = BlockShape.EncoderStages(spec);
        Assert.Equal(9, stages.Count);
        foreach (var stage in stages)
        {
            var row = summary.Layers.Single(l => l.Name == stage.Stage[..3]);
            Assert.Equal(stage.DepthwiseMacs, row.Macs);
            Assert.Equal(stage.DepthwiseParameters, row.Parameters);
            Assert.Equal(new long[] { 1, stage.OutChannels, stage.OutputSize, stage.OutputSize }, row.OutputShape);
        }
    }

    [Fact]
    public void Conv_block_costs_more_macs_than_depthwise_at_every_stage()
    {
        foreach (var s in BlockShape.EncoderStages(new ModelSpec(1, 224)))
            Assert.True(s.ConvMacs > 5 * s.DepthwiseMacs, s.Stage);
    }

    [Fact]
    public void Block_runners_run_both_kinds()
    {
        using var backend = new TorchBackend();
        var shape = BlockShape.EncoderStages(new ModelSpec(0.25, 32))[1];
        foreach (var kind in new[] { BlockKind.Conv, BlockKind.Depthwise })
        {
            using var runner = backend.PrepareBlock(shape, kind, batch: 1, threads: 1);
            runner.RunOnce();
            Assert.Equal([new long[] { 1, shape.OutChannels, shape.OutputSize, shape.OutputSize }], runner.RunAndShapes(), BenchShapes.Comparer);
        }
    }
}

public class BenchRecordTests
{
    static BenchDocument TinyRun() =>
        BenchStudy.Run(new BenchPlan([new ModelSpec(0.25, 32)], ["torch"], null, [1], 1,
            new BenchBudget(seconds: 0.05, minRuns: 3, warmupSeconds: 0, warmupRuns: 1), Parts: true, Blocks: true,
            BlockSpec: new ModelSpec(0.25, 32), MachineLabel: "test-machine"));

    [Fact]
    public void A_real_run_round_trips_through_json_unchanged()
    {
        var doc = TinyRun();
        // Whole model, encoder, and the decoder in each of the three upsampling variants; 9 stages x 2 blocks.
        Assert.Equal(5, doc.Results.Count);
        Assert.Equal(18, doc.Blocks.Count);
        var json = doc.ToJson();
        var back = BenchDocument.FromJson(json);
        Assert.Equal(json, back.ToJson());
        Assert.Equal(doc.Results[0].Latency, back.Results[0].Latency);
        Assert.Equal(doc.Results[0].Spec, back.Results[0].Spec);

        using var parsed = JsonDocument.Parse(json);
        var root = parsed.RootElement;
        Assert.Equal(1, root.GetProperty("schemaVersion").GetInt32());
        var machine = root.GetProperty("machine");
        Assert.Equal("test-machine", machine.GetProperty("label").GetString());
        Assert.False(string.IsNullOrEmpty(machine.GetProperty("cpuModel").GetString()));
        Assert.StartsWith("2.", machine.GetProperty("libtorch").GetString());
        var first = root.GetProperty("results")[0];
        Assert.Equal("Model", first.GetProperty("part").GetString());
        Assert.True(first.GetProperty("latency").GetProperty("medianMs").GetDouble() > 0);
        Assert.Equal(371_639, first.GetProperty("parameters").GetInt64());
        Assert.True(first.GetProperty("memory").GetProperty("peakResidentBytes").GetInt64() > 0);
        Assert.True(first.TryGetProperty("gflopPerSecond", out _));
        Assert.True(first.TryGetProperty("meetsRealtime", out _));
    }

    [Fact]
    public void A_document_of_another_schema_or_not_a_document_is_refused_with_the_file_name()
    {
        var json = BenchFixtures.Grid().ToJson().Replace("\"schemaVersion\": 1", "\"schemaVersion\": 99");
        var e = Assert.Throws<InvalidDataException>(() => BenchDocument.FromJson(json, "old.json"));
        Assert.Contains("old.json", e.Message);
        Assert.Throws<InvalidDataException>(() => BenchDocument.FromJson("[1,2]", "x.json"));
    }

    [Fact]
    public void Committed_schema_1_fixture_still_loads()
    {
        var doc = BenchDocument.Load(Path.Combine(AppContext.BaseDirectory, "Fixtures", "bench-schema1.json"));
        Assert.Equal("fixture-schema1", doc.Machine.Label);
        Assert.Equal(new ModelSpec(0.5, 128), doc.Results[0].Spec);
        Assert.Equal(5.0, doc.Results[0].Latency.MedianMs);
        Assert.Equal(BenchPart.Model, doc.Results[0].Part);
        // Written before the graph axes: fp32, no form recorded, labelled as the original network.
        Assert.Equal(OnnxPrecision.Fp32, doc.Results[0].Precision);
        Assert.Null(doc.Results[0].TransposedConv);
        Assert.Equal("", doc.Results[0].Variant);
        Assert.Null(doc.Settings.Precisions);
        Assert.Null(doc.Settings.TransposedConvForms);
    }

    [Fact]
    public void An_onnx_result_written_before_precision_was_recorded_reads_as_fp32_in_the_default_form()
    {
        var json = JsonNode.Parse(BenchFixtures.Document("fixture-old", BenchFixtures.Result(0.5, 128, 5, backend: "onnx", form: TransposedConvForm.ConvTranspose)).ToJson())!;
        var row = json["results"]![0]!.AsObject();
        Assert.Equal("Fp32", row["precision"]!.GetValue<string>());
        Assert.True(row.Remove("precision") && row.Remove("transposedConv"));
        var old = BenchDocument.FromJson(json.ToJsonString(), "old.json").Results[0];
        Assert.Equal(OnnxPrecision.Fp32, old.Precision);
        Assert.Null(old.TransposedConv);
        Assert.Equal(TransposedConvForm.ConvTranspose, old.EffectiveTransposedConv);
        Assert.Equal("onnx/cpu", old.RunsOn);
    }

    [Fact]
    public void Precision_and_form_round_trip_through_json()
    {
        var doc = BenchFixtures.Document("fixture-int8", BenchFixtures.Result(0.5, 128, 2, backend: "onnx", precision: OnnxPrecision.Int8, form: TransposedConvForm.ConvTranspose));
        var back = BenchDocument.FromJson(doc.ToJson()).Results[0];
        Assert.Equal(OnnxPrecision.Int8, back.Precision);
        Assert.Equal(TransposedConvForm.ConvTranspose, back.TransposedConv);
        Assert.Equal("int8 ConvTranspose", back.Variant); // int8 exports ConvDepthToSpace unless told otherwise
        Assert.Contains("\"precision\": \"Int8\"", doc.ToJson());
    }
}

public class BenchPlanTests
{
    static BenchPlan Plan(IReadOnlyList<string> backends, IReadOnlyList<OnnxPrecision>? precisions = null, IReadOnlyList<TransposedConvForm>? forms = null,
        bool parts = false, Upsampling up = Upsampling.TransposedConv, bool blocks = false) =>
        new([new ModelSpec(0.25, 64, up)], backends, null, [1], 1, new BenchBudget(0.05), Parts: parts, Blocks: blocks,
            Precisions: precisions, TransposedConvForms: forms);

    static string Describe(BenchJob j) => $"{j.Part} {j.Model.Spec.Upsampling} {j.Model.Precision} {j.Model.TransposedConv?.ToString() ?? "-"}";

    [Fact]
    public void Default_plan_times_the_grid_as_before_the_graph_axes()
    {
        var plan = Plan(["torch", "onnx"], parts: true);
        Assert.Equal(
            ["Model TransposedConv Fp32 -", "Encoder TransposedConv Fp32 -", "Decoder TransposedConv Fp32 -", "Decoder BilinearConv Fp32 -", "Decoder NearestConv Fp32 -"],
            plan.Jobs("torch", plan.Specs[0]).Select(Describe));
        // The same five on onnx, the form the export writes by default recorded.
        Assert.Equal(
            ["Model TransposedConv Fp32 ConvTranspose", "Encoder TransposedConv Fp32 -", "Decoder TransposedConv Fp32 ConvTranspose", "Decoder BilinearConv Fp32 -", "Decoder NearestConv Fp32 -"],
            plan.Jobs("onnx", plan.Specs[0]).Select(Describe));
        Assert.Equal(10, plan.Steps);
        Assert.Empty(plan.Skipped);
    }

    [Fact]
    public void Decoder_variants_two_upsamplings_share_are_counted_once()
    {
        var plan = new BenchPlan([new ModelSpec(0.25, 64), new ModelSpec(0.25, 64, Upsampling.BilinearConv)], ["torch"], null, [1], 1,
            new BenchBudget(0.05), Parts: true);
        // Each spec's model and encoder, and the three decoder variants once.
        Assert.Equal(7, plan.Steps);
    }

    [Fact]
    public void Precisions_pair_with_the_onnx_backend_and_torch_says_what_it_skips()
    {
        var plan = Plan(["torch", "onnx"], [OnnxPrecision.Fp32, OnnxPrecision.Int8]);
        Assert.Equal(["Model TransposedConv Fp32 -"], plan.Jobs("torch", plan.Specs[0]).Select(Describe));
        Assert.Equal(["Model TransposedConv Fp32 ConvTranspose", "Model TransposedConv Int8 ConvDepthToSpace"], plan.Jobs("onnx", plan.Specs[0]).Select(Describe));
        var note = Assert.Single(plan.Skipped);
        Assert.StartsWith("torch: int8 not timed", note);
        Assert.Contains("onnx backend", note);
        plan.Validate();
    }

    [Fact]
    public void A_plan_with_nothing_to_time_is_refused_with_the_reason()
    {
        var e = Assert.Throws<ArgumentException>(() => Plan(["torch"], [OnnxPrecision.Int8]).Validate());
        Assert.StartsWith("Nothing to bench: torch: int8 not timed", e.Message);
        // The block study is fp32 on every backend, so torch still has that to time.
        Plan(["torch"], [OnnxPrecision.Int8], blocks: true).Validate();
        Assert.Throws<ArgumentException>(() => Plan(["onnx"], []).Validate());
    }

    [Fact]
    public void Transposed_conv_forms_apply_where_the_graph_has_a_transposed_conv()
    {
        TransposedConvForm[] both = [TransposedConvForm.ConvTranspose, TransposedConvForm.ConvDepthToSpace];
        var plan = Plan(["onnx"], [OnnxPrecision.Fp32, OnnxPrecision.Int8], both);
        Assert.Equal(
            ["Model TransposedConv Fp32 ConvTranspose", "Model TransposedConv Fp32 ConvDepthToSpace",
             "Model TransposedConv Int8 ConvTranspose", "Model TransposedConv Int8 ConvDepthToSpace"],
            plan.Jobs("onnx", plan.Specs[0]).Select(Describe));
        Assert.Empty(plan.Skipped);

        var resize = Plan(["onnx"], [OnnxPrecision.Fp32], both, up: Upsampling.NearestConv);
        Assert.Equal(["Model NearestConv Fp32 -"], resize.Jobs("onnx", resize.Specs[0]).Select(Describe));
        Assert.Contains("timed once per precision", Assert.Single(resize.Skipped));
    }

    [Fact]
    public void Int8_parts_are_not_timed_apart_and_the_plan_says_so()
    {
        var plan = Plan(["onnx"], [OnnxPrecision.Int8], parts: true);
        Assert.Equal(["Model TransposedConv Int8 ConvDepthToSpace"], plan.Jobs("onnx", plan.Specs[0]).Select(Describe));
        Assert.Contains("int8 quantises the whole model", Assert.Single(plan.Skipped));
        var fp16 = Plan(["onnx"], [OnnxPrecision.Fp16], parts: true);
        Assert.Equal(5, fp16.Jobs("onnx", fp16.Specs[0]).Count);
    }
}

public class BenchTableTests
{
    [Fact]
    public void Csv_has_one_invariant_row_per_result_even_under_a_decimal_comma_culture()
    {
        var saved = CultureInfo.CurrentCulture;
        // The test host runs in globalization-invariant mode, so build a decimal-comma culture by hand.
        var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        comma.NumberFormat.NumberDecimalSeparator = ",";
        comma.NumberFormat.NumberGroupSeparator = ".";
        CultureInfo.CurrentCulture = comma;
        try
        {
            var csv = BenchTables.Csv([BenchFixtures.Grid()]);
            var lines = csv.TrimEnd('\n').Split('\n');
            Assert.Equal(BenchTables.CsvHeader, lines[0]);
            Assert.Equal(5, lines.Length);
            var header = lines[0].Split(',');
            var row = lines[3].Split(',');  // third result: alpha 0.5, size 224, 12 ms
            Assert.Equal(header.Length, row.Length);
            string Col(string name) => row[Array.IndexOf(header, name)];
            Assert.Equal("fixture-a", Col("machine"));
            Assert.Equal("0.5", Col("alpha"));
            Assert.Equal("224", Col("size"));
            Assert.Equal("12", Col("median_ms"));
            Assert.Equal("true", Col("meets_30fps"));
            Assert.Equal("model", Col("part"));
            Assert.Equal(1000 / 12.0, double.Parse(Col("fps"), CultureInfo.InvariantCulture), 9);
        }
        finally { CultureInfo.CurrentCulture = saved; }
    }

    [Fact]
    public void Markdown_lists_every_config_with_its_median_and_realtime_verdict()
    {
        var md = BenchTables.Markdown(BenchFixtures.Grid());
        Assert.Contains("Fixture CPU 9000", md);
        Assert.Contains("| torch/cpu | 2 | 1 | 224 | 1,000,000 | 200.0 | 40.00 |", md);
        Assert.Contains("| 25.0 | no |", md);   // 40 ms = 25 FPS
        Assert.Contains("| 200.0 | yes |", md);  // 5 ms = 200 FPS
        Assert.DoesNotContain("Warning", md);
    }

    [Fact]
    public void Markdown_warns_when_runs_were_noisy()
    {
        var doc = BenchFixtures.Document("fixture-noisy", BenchFixtures.Result(1, 224, 40, spread: 0.5), BenchFixtures.Result(1, 128, 15));
        var md = BenchTables.Markdown(doc);
        Assert.Contains("**Warning:** 1 of 2 measurements", md);
        Assert.Contains("noisy", md);
    }

    [Fact]
    public void Parts_table_shows_encoder_each_decoder_variant_and_the_decoder_share()
    {
        var doc = BenchFixtures.Document("fixture-parts",
            BenchFixtures.Result(1, 224, 40), BenchFixtures.Result(1, 224, 30, BenchPart.Encoder),
            BenchFixtures.Result(1, 224, 10, BenchPart.Decoder, Upsampling.TransposedConv),
            BenchFixtures.Result(1, 224, 14, BenchPart.Decoder, Upsampling.BilinearConv));
        var md = BenchTables.PartsTable(doc);
        Assert.Contains("decoder TransposedConv ms | decoder BilinearConv ms", md);
        Assert.Contains("| torch/cpu | 2 | 1 | 224 | 40.00 | 30.00 | 10.00 | 14.00 | 25% |", md);
    }

    [Fact]
    public void Tables_and_series_tell_precisions_and_forms_apart()
    {
        var doc = BenchFixtures.Document("fixture-int8",
            BenchFixtures.Result(0.5, 128, 5, backend: "onnx", form: TransposedConvForm.ConvTranspose),
            BenchFixtures.Result(0.5, 128, 3, backend: "onnx", precision: OnnxPrecision.Int8, form: TransposedConvForm.ConvDepthToSpace),
            BenchFixtures.Result(0.5, 128, 4, backend: "onnx", form: TransposedConvForm.ConvDepthToSpace));
        var md = BenchTables.LatencyTable(doc);
        Assert.Contains("| onnx/cpu | 2 | 0.5 | 128 |", md);
        Assert.Contains("| onnx/cpu int8 | 2 | 0.5 | 128 |", md);
        Assert.Contains("| onnx/cpu ConvDepthToSpace | 2 | 0.5 | 128 |", md);
        Assert.Equal(["fixture-int8 onnx/cpu x2", "fixture-int8 onnx/cpu x2 int8", "fixture-int8 onnx/cpu x2 ConvDepthToSpace"],
            BenchTables.SeriesOf([doc]).Select(s => s.Name));
        var lines = BenchTables.Csv([doc]).TrimEnd('\n').Split('\n');
        var header = lines[0].Split(',');
        Assert.Equal(["precision", "transposed_conv"], header[^2..]);
        Assert.Equal(["int8", "ConvDepthToSpace"], lines[2].Split(',')[^2..]);
        Assert.All(BenchCharts.All(doc), c => Assert.Contains("<svg", c.Svg));
    }

    [Fact]
    public void Parts_table_keeps_each_form_with_its_own_decoder_and_shares_the_encoder()
    {
        const string onnx = "onnx";
        var doc = BenchFixtures.Document("fixture-forms",
            BenchFixtures.Result(1, 224, 40, backend: onnx, form: TransposedConvForm.ConvTranspose),
            BenchFixtures.Result(1, 224, 30, BenchPart.Encoder, backend: onnx),
            BenchFixtures.Result(1, 224, 10, BenchPart.Decoder, backend: onnx, form: TransposedConvForm.ConvTranspose),
            BenchFixtures.Result(1, 224, 14, BenchPart.Decoder, Upsampling.BilinearConv, backend: onnx),
            BenchFixtures.Result(1, 224, 45, backend: onnx, form: TransposedConvForm.ConvDepthToSpace),
            BenchFixtures.Result(1, 224, 15, BenchPart.Decoder, backend: onnx, form: TransposedConvForm.ConvDepthToSpace));
        var md = BenchTables.PartsTable(doc);
        Assert.Contains("| onnx/cpu | 2 | 1 | 224 | 40.00 | 30.00 | 10.00 | 14.00 | 25% |", md);
        Assert.Contains("| onnx/cpu ConvDepthToSpace | 2 | 1 | 224 | 45.00 | 30.00 | 15.00 | 14.00 | 33% |", md);
        Assert.Equal(2, BenchTables.PartGroups(doc).Count);
    }

    [Fact]
    public void Merge_puts_machines_side_by_side_per_config()
    {
        var md = BenchTables.MergedMarkdown([BenchFixtures.Grid("fixture-a"), BenchFixtures.Grid("fixture-b", scale: 2)]);
        Assert.Contains("| alpha | size | fixture-a torch/cpu x2 | fixture-b torch/cpu x2 |", md);
        Assert.Contains("| 1 | 224 | 40.00 (25.0) | 80.00 (12.5) |", md);
        Assert.Contains("| 0.5 | 128 | 5.00 (200.0) | 10.00 (100.0) |", md);
        var csv = BenchTables.Csv([BenchFixtures.Grid("fixture-a"), BenchFixtures.Grid("fixture-b", scale: 2)]);
        Assert.Equal(9, csv.TrimEnd('\n').Split('\n').Length);
    }

    [Fact]
    public void Merge_keeps_two_runs_of_one_machine_apart()
    {
        var early = BenchFixtures.Grid("fixture-a");
        var late = BenchFixtures.Grid("fixture-a", scale: 2) with { CreatedUtc = early.CreatedUtc.AddHours(1) };
        var md = BenchTables.MergedMarkdown([early, late]);
        Assert.Contains("| alpha | size | fixture-a 01-02 03:04 torch/cpu x2 | fixture-a 01-02 04:04 torch/cpu x2 |", md);
        Assert.Contains("| 1 | 224 | 40.00 (25.0) | 80.00 (12.5) |", md);
        var same = BenchTables.MergedMarkdown([early, early]);
        Assert.Contains("#2 torch/cpu x2", same);
    }

    [Fact]
    public void Charts_render_png_and_svg()
    {
        var doc = BenchFixtures.Grid();
        foreach (var chart in BenchCharts.All(doc).Append(BenchCharts.MergedBars([doc, BenchFixtures.Grid("fixture-b", 2)])))
        {
            Assert.True(chart.Png.Length > 1000, chart.Name);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, chart.Png[..4]);
            Assert.Contains("<svg", chart.Svg);
        }
    }
}

public class RecommendTests
{
    [Fact]
    public void Picks_the_most_accurate_config_within_the_fps_budget()
    {
        // Within 33.3 ms: 1/128 (15 ms, 0.88), 0.5/224 (12 ms, 0.90), 0.5/128 (5 ms, 0.86); 1/224 (40 ms) is out.
        var rec = Recommender.Recommend(BenchFixtures.Grid(), BenchFixtures.Accuracy(), LatencyBudget.Fps(30));
        Assert.NotNull(rec.Chosen);
        Assert.Equal(new ModelSpec(0.5, 224), rec.Chosen!.Spec);
        Assert.Contains("size 224 / alpha 0.5", rec.Summary());
        // 1/128 is slower and less accurate than 0.5/224: not on the front.
        Assert.Equal(["128/0.5", "224/0.5", "224/1"], rec.ParetoFront.Select(c => c.Label));
    }

    [Fact]
    public void Picks_an_int8_run_where_it_is_the_fastest_way_to_run_a_config()
    {
        // 1/224 at fp32 misses 30 FPS (40 ms); its int8 graph makes it (25 ms), and 1/224 is the most accurate config.
        var grid = BenchFixtures.Grid();
        var bench = grid with { Results = [.. grid.Results, BenchFixtures.Result(1, 224, 25, backend: "onnx", precision: OnnxPrecision.Int8)] };
        var rec = Recommender.Recommend(bench, BenchFixtures.Accuracy(), LatencyBudget.Fps(30));
        Assert.Equal(new ModelSpec(1, 224), rec.Chosen!.Spec);
        Assert.Equal(OnnxPrecision.Int8, rec.Chosen.Fastest.Precision);
        Assert.Contains("on onnx/cpu int8 x2", rec.Summary());
        // Kept to fp32, the choice falls back to the grid's answer.
        var fp32 = Recommender.Recommend(bench, BenchFixtures.Accuracy(), LatencyBudget.Fps(30), precisions: [OnnxPrecision.Fp32]);
        Assert.Equal(new ModelSpec(0.5, 224), fp32.Chosen!.Spec);
    }

    [Fact]
    public void A_tighter_latency_budget_moves_the_choice_to_a_faster_config()
    {
        var rec = Recommender.Recommend(BenchFixtures.Grid(), BenchFixtures.Accuracy(), LatencyBudget.Latency(10));
        Assert.Equal(new ModelSpec(0.5, 128), rec.Chosen!.Spec);
    }

    [Fact]
    public void Says_so_when_no_config_meets_the_budget()
    {
        var rec = Recommender.Recommend(BenchFixtures.Grid(scale: 10), BenchFixtures.Accuracy(), LatencyBudget.Fps(30));
        Assert.Null(rec.Chosen);
        Assert.StartsWith("No configuration meets 30 FPS", rec.Summary());
        Assert.Contains("50.00 ms", rec.Summary()); // the fastest, 0.5/128 at 10 x 5 ms
        var chart = Recommender.ParetoChart(rec);
        Assert.Contains("<svg", chart.Svg);
    }

    [Fact]
    public void Configs_on_one_side_only_are_reported()
    {
        var accuracy = BenchFixtures.Accuracy() with { Results = [.. BenchFixtures.Accuracy().Results.Take(3), new AccuracyRecord(new ModelSpec(0.25, 96), 0.7)] };
        var rec = Recommender.Recommend(BenchFixtures.Grid(), accuracy, LatencyBudget.Fps(30));
        Assert.Equal([new ModelSpec(0.25, 96)], rec.MissingLatency);
        Assert.Equal([new ModelSpec(0.5, 128)], rec.MissingAccuracy);
    }
}

public class BenchCliTests
{
    [Fact]
    public void Bench_writes_json_csv_markdown_and_charts()
    {
        var dir = TestData.TempDir();
        var r = Cli.Run("bench", "--backend", "torch", "--alphas", "0.25", "--sizes", "32", "--threads", "1", "--budget-seconds", "0.05",
            "--parts", "--blocks", "--block-alpha", "0.25", "--block-size", "32", "-o", dir);
        Assert.True(r.ExitCode == 0, r.Stderr);
        foreach (var f in new[] { "bench.json", "bench.csv", "bench.md", "blocks.csv", "latency-vs-size.png", "latency-vs-size.svg",
                     "fps-heatmap.png", "encoder-decoder.png", "encoder-decoder.svg", "conv-vs-depthwise.png", "conv-vs-depthwise.svg" })
            Assert.True(File.Exists(Path.Combine(dir, f)), f);
        var doc = BenchDocument.Load(Path.Combine(dir, "bench.json"));
        Assert.Equal(["torch"], doc.Settings.Backends);
        Assert.Equal(5, doc.Results.Count);
        Assert.Contains("| torch/cpu | 1 | 0.25 | 32 |", File.ReadAllText(Path.Combine(dir, "bench.md")));
    }

    [Fact]
    public void Bench_times_a_weights_file_at_its_own_spec()
    {
        var dir = TestData.TempDir();
        var file = Path.Combine(dir, "tiny.munet");
        using (var net = new MobileUNet.Model.MobileUNet(new ModelSpec(0.25, 64, Upsampling.BilinearConv)))
            WeightsFile.Save(net, file);
        var r = Cli.Run("bench", "--model", file, "--threads", "1", "--budget-seconds", "0.05", "-o", Path.Combine(dir, "out"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        var doc = BenchDocument.Load(Path.Combine(dir, "out", "bench.json"));
        // The default backend "all" runs the file on torch and on onnx (exported from it in memory).
        Assert.Equal(["torch", "onnx"], doc.Results.Select(r => r.Backend));
        Assert.All(doc.Results, result => Assert.Equal(new ModelSpec(0.25, 64, Upsampling.BilinearConv), result.Spec));
        Assert.Equal(file, doc.Settings.ModelFile);

        var missing = Cli.Run("bench", "--model", Path.Combine(dir, "nope.munet"), "-o", Path.Combine(dir, "out2"));
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("nope.munet", missing.Stderr);
    }

    [Theory]
    [InlineData("--backend onnx --ep cuda", "the onnx backend runs on cpu only")]
    [InlineData("--ep cuda", "no backend in this build runs on it")]
    [InlineData("--backend torch --ep coreml", "the torch backend runs on cpu only")]
    [InlineData("--ep tpu", "unknown execution provider")]
    [InlineData("--threads 0", "--threads")]
    [InlineData("--backend nosuch", "unknown backend")]
    [InlineData("--backend torch --precision int8", "onnx backend")]
    [InlineData("--precision fp64", "--precision: 'fp64' is not one of")]
    [InlineData("--transposed-conv Deconv", "--transposed-conv")]
    [InlineData("--upsampling Bicubic", "--upsampling")]
    public void Bench_refuses_what_it_cannot_run_with_one_line_and_no_output(string options, string message)
    {
        var dir = Path.Combine(TestData.TempDir(), "out");
        var r = Cli.Run([.. "bench --alphas 0.25 --sizes 32 --budget-seconds 0.05".Split(' '), .. options.Split(' '), "-o", dir]);
        Assert.NotEqual(0, r.ExitCode);
        var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error:", line);
        Assert.Contains(message, line);
        Assert.False(Directory.Exists(dir));
    }

    [Fact]
    public void Merge_and_recommend_run_end_to_end_on_record_files()
    {
        var dir = TestData.TempDir();
        string a = Path.Combine(dir, "a.json"), b = Path.Combine(dir, "b.json"), acc = Path.Combine(dir, "accuracy.json");
        BenchFixtures.Grid("fixture-a").Save(a);
        BenchFixtures.Grid("fixture-b", scale: 10).Save(b);
        BenchFixtures.Accuracy().Save(acc);

        var merged = Cli.Run("bench", "merge", a, b, "-o", Path.Combine(dir, "merged"));
        Assert.True(merged.ExitCode == 0, merged.Stderr);
        Assert.Contains("fixture-b torch/cpu x2", File.ReadAllText(Path.Combine(dir, "merged", "merged.md")));
        Assert.True(File.Exists(Path.Combine(dir, "merged", "merged.png")));

        var ok = Cli.Run("recommend", "--bench", a, "--accuracy", acc, "--fps", "30", "-o", Path.Combine(dir, "rec-a"));
        Assert.True(ok.ExitCode == 0, ok.Stderr);
        Assert.Contains("Recommended for 30 FPS", ok.Stdout);
        Assert.True(File.Exists(Path.Combine(dir, "rec-a", "pareto.svg")));

        var none = Cli.Run("recommend", "--bench", b, "--accuracy", acc, "--fps", "30", "-o", Path.Combine(dir, "rec-b"));
        Assert.True(none.ExitCode == 0, none.Stderr);
        Assert.Contains("No configuration meets 30 FPS", none.Stdout);

        var missing = Cli.Run("bench", "merge", Path.Combine(dir, "nope.json"));
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("nope.json", missing.Stderr);
    }
}

/// <summary>What each bench part must output, from the model summary (an independent walk of the network).</summary>
static class BenchShapes
{
    public static IEqualityComparer<long[]> Comparer { get; } = EqualityComparer<long[]>.Create((a, b) => a!.SequenceEqual(b!), a => a.Length);

    public static IReadOnlyList<long[]> Expected(ModelSpec spec, BenchPart part, int batch)
    {
        var layers = ModelSummary.Of(spec).Layers;
        long[] Batched(string name) => [batch, .. layers.Single(l => l.Name == name).OutputShape.Skip(1)];
        return part == BenchPart.Encoder
            ? [.. new[] { "b00", "b01", "b03", "b05", "b11", "b13" }.Select(Batched)]
            : [[batch, 1, spec.InputSize, spec.InputSize]];
    }
}
