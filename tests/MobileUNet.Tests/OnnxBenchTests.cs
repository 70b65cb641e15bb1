using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using MobileUNet.Benchmarks;
using MobileUNet.Export;
using MobileUNet.Model;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MobileUNet.Tests;

public class OnnxBackendTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(BenchPart.Model, Upsampling.TransposedConv)]
    [InlineData(BenchPart.Encoder, Upsampling.TransposedConv)]
    [InlineData(BenchPart.Decoder, Upsampling.TransposedConv)]
    [InlineData(BenchPart.Decoder, Upsampling.BilinearConv)]
    [InlineData(BenchPart.Decoder, Upsampling.NearestConv)]
    public void Each_part_prepares_and_runs_on_its_bound_tensors(BenchPart part, Upsampling upsampling)
    {
        using var backend = new OnnxBackend();
        using var runner = backend.Prepare(new BenchModel(new ModelSpec(0.25, 32, upsampling)), part, batch: 2, threads: 1);
        runner.RunOnce();
        Assert.Equal(BenchShapes.Expected(new ModelSpec(0.25, 32, upsampling), part, batch: 2), runner.RunAndShapes(), BenchShapes.Comparer);
    }

    [Theory]
    [InlineData(BlockKind.Conv)]
    [InlineData(BlockKind.Depthwise)]
    public void Each_block_kind_prepares_and_runs(BlockKind kind)
    {
        using var backend = new OnnxBackend();
        var shape = BlockShape.EncoderStages(new ModelSpec(0.25, 64))[1]; // b02: stride 2
        using var runner = backend.PrepareBlock(shape, kind, batch: 1, threads: 1);
        runner.RunOnce();
        Assert.Equal([new long[] { 1, shape.OutChannels, shape.OutputSize, shape.OutputSize }], runner.RunAndShapes(), BenchShapes.Comparer);
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 2)]
    public void Exported_block_computes_what_the_torch_block_computes(bool depthwise, int stride)
    {
        Torch.EnsureReady();
        manual_seed(7);
        using nn.Module<Tensor, Tensor> block = depthwise ? new DepthwiseBlock("b", 12, 20, stride) : new ConvBlock("b", 12, 20, stride);
        using (no_grad())
            foreach (var (name, t) in block.named_buffers())
            {
                if (name.EndsWith("running_mean")) t.copy_(randn_like(t) * 0.2);
                else if (name.EndsWith("running_var")) t.copy_(rand_like(t) + 0.5);
            }
        block.eval();
        var onnx = OnnxExporter.BuildBlock(block, 12, 16, stride).ToByteArray();
        using var x = randn(1, 12, 16, 16);
        var actual = OnnxTestSupport.Run(onnx, (OnnxExporter.BlockInputName, x))[OnnxExporter.BlockOutputName];
        // float64 reference: libtorch's float32 conv is wrong on this machine for some shapes (OnnxTestSupport).
        block.to(float64);
        using var _ = no_grad();
        using var x64 = x.to(float64);
        using var y = block.forward(x64);
        using var y32 = y.to(float32);
        var expected = y32.data<float>().ToArray();
        Assert.True(OnnxTestSupport.MaxAbsDiff(expected, actual) < 1e-4f);
    }

    [Fact]
    public void Operator_breakdown_types_convs_from_the_exported_graph()
    {
        using var backend = new OnnxBackend();
        var ops = backend.ProfileOperators(new BenchModel(new ModelSpec(0.25, 64)), batch: 1, threads: 1, runs: 5);
        output.WriteLine(string.Join("\n", ops.Select(o => string.Create(CultureInfo.InvariantCulture, $"{o.Operator}: {o.Nodes} nodes {o.MsPerRun:0.000} ms {o.Share:P1}"))));
        OperatorTime Op(string name) => Assert.Single(ops, o => o.Operator == name);
        // 13 encoder and 4 decoder depthwise blocks; their pointwise convs plus the 1x1 head; b00 and b18 are full convs.
        Assert.Equal(17, Op("depthwise conv").Nodes);
        Assert.Equal(18, Op("pointwise conv").Nodes);
        Assert.Equal(4, Op("transposed conv").Nodes);
        Assert.Equal(2, Op("full conv 3x3").Nodes);
        foreach (var name in new[] { "depthwise conv", "pointwise conv", "transposed conv", "full conv 3x3", "concat" })
            Assert.True(Op(name).MsPerRun > 0, name);
        Assert.Equal(1.0, ops.Sum(o => o.Share), 6);
        Assert.Equal(ops.OrderByDescending(o => o.MsPerRun).Select(o => o.Operator), ops.Select(o => o.Operator));
    }

    [Fact]
    public void Missing_execution_provider_is_a_clear_error_naming_the_available_ones()
    {
        var available = OnnxBackend.AvailableProviders();
        Assert.Contains("cpu", available);
        var missing = new[] { "cuda", "coreml", "nnapi", "xnnpack" }.FirstOrDefault(p => !available.Contains(p));
        Assert.NotNull(missing); // the CPU NuGet package of ONNX Runtime serves the cpu provider alone
        var e = Assert.Throws<ArgumentException>(() => new OnnxBackend(missing));
        Assert.Contains($"no {missing} execution provider", e.Message);
        Assert.Contains("available: cpu", e.Message);
        Assert.Contains("unknown execution provider", Assert.Throws<ArgumentException>(() => new OnnxBackend("tpu")).Message);
    }
}

/// <summary>Timing checks run alone, after the parallel tests, so other tests' load does not skew one side.</summary>
[CollectionDefinition(nameof(SerialTiming), DisableParallelization = true)]
public class SerialTiming;

[Collection(nameof(SerialTiming))]
public class BenchIntegrityTests(ITestOutputHelper output)
{
    /// <summary>
    /// The bench's per-call samples must account for the session loop as an outside clock sees it: the mean of the
    /// bench's samples against one Stopwatch around the same number of calls on the same binding, in alternating
    /// rounds so background load hits both alike. The bound is loose for busy CI machines; the README quotes the
    /// ratio of a quiet run.
    /// </summary>
    [Fact]
    public void Bench_mean_agrees_with_an_outside_timing_of_the_same_session_loop()
    {
        using var backend = new OnnxBackend();
        using var runner = backend.Prepare(new BenchModel(new ModelSpec(0.25, 64)), BenchPart.Model, batch: 1, threads: 1);
        // Many short rounds: a burst of outside load lands on one side of a round, and the median drops that round.
        var budget = new BenchBudget(seconds: 0.03, minRuns: 20, warmupSeconds: 0.01);
        var ratios = new List<double>();
        for (int round = 0; round < 25; round++)
        {
            var samples = LatencyRunner.Measure(runner, budget);
            int n = samples.Ms.Length;
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < n; i++) runner.RunOnce();
            double outsideMean = Stopwatch.GetElapsedTime(start).TotalMilliseconds / n;
            ratios.Add(samples.Stats().MeanMs / outsideMean);
        }
        double median = LatencyStats.Percentile([.. ratios.Order()], 0.5);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"bench mean / outside mean per round: {string.Join(", ", ratios.Select(r => r.ToString("0.000", CultureInfo.InvariantCulture)))}; median {median:0.000}"));
        Assert.InRange(median, 0.75, 1.25);
    }
}

public class OnnxBenchCliTests
{
    [Fact]
    public void Bench_parts_and_blocks_on_onnx_write_the_operator_table()
    {
        var dir = Path.Combine(TestData.TempDir(), "out");
        var r = Cli.Run("bench", "--backend", "onnx", "--alphas", "0.25", "--sizes", "32", "--threads", "1", "--budget-seconds", "0.05",
            "--parts", "--blocks", "--block-alpha", "0.25", "--block-size", "32", "-o", dir);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var doc = BenchDocument.Load(Path.Combine(dir, "bench.json"));
        Assert.All(doc.Results, x => Assert.Equal("onnx", x.Backend));
        Assert.Equal(5, doc.Results.Count); // model, encoder, three decoder variants
        Assert.Equal(18, doc.Blocks.Count);
        var breakdown = Assert.Single(doc.Operators);
        Assert.Contains(breakdown.Operators, o => o.Operator == "depthwise conv" && o.MsPerRun > 0);
        Assert.NotNull(doc.Machine.OnnxRuntime);
        Assert.Contains("## Operators: a0.25-s32 on onnx/cpu x1", File.ReadAllText(Path.Combine(dir, "bench.md")));
    }

    [Fact]
    public void Tiny_fp32_and_int8_grid_records_the_int8_row_and_recommend_can_pick_it()
    {
        var spec = new ModelSpec(0.25, 64);
        var budget = new BenchBudget(seconds: 0.05, minRuns: 3, warmupSeconds: 0, warmupRuns: 1);
        var doc = BenchStudy.Run(new BenchPlan([spec], ["torch", "onnx"], null, [1], 1, budget,
            Precisions: [OnnxPrecision.Fp32, OnnxPrecision.Int8], MachineLabel: "test-int8"));
        Assert.Equal(["torch Fp32", "onnx Fp32", "onnx Int8"], doc.Results.Select(r => $"{r.Backend} {r.Precision}"));
        var int8 = doc.Results[2];
        Assert.Equal(TransposedConvForm.ConvDepthToSpace, int8.TransposedConv); // the int8 export's default form, recorded
        Assert.Equal(doc.Results[1].Parameters, int8.Parameters);
        Assert.True(int8.Latency.MedianMs > 0);
        Assert.Equal([OnnxPrecision.Fp32, OnnxPrecision.Int8], doc.Settings.Precisions!);

        var back = BenchDocument.FromJson(doc.ToJson());
        Assert.Equal(OnnxPrecision.Int8, back.Results[2].Precision);
        var accuracy = new MobileUNet.Evaluation.AccuracyDocument(MobileUNet.Evaluation.AccuracyDocument.CurrentSchema, "test",
            [new MobileUNet.Evaluation.AccuracyRecord(spec, 0.8)]);
        // A generous budget: whichever run is fastest, the one config is chosen; asked for int8, its int8 run.
        var any = Recommender.Recommend(back, accuracy, LatencyBudget.Latency(10_000));
        Assert.Equal(doc.Results.Min(r => r.Latency.MedianMs), any.Chosen!.LatencyMs);
        var rec = Recommender.Recommend(back, accuracy, LatencyBudget.Latency(10_000), precisions: [OnnxPrecision.Int8]);
        Assert.Equal(OnnxPrecision.Int8, rec.Chosen!.Fastest.Precision);
        Assert.Contains("onnx/cpu int8", rec.Summary());
    }

    [Fact]
    public void Bench_cli_pairs_precisions_with_onnx_says_what_torch_skips_and_writes_optimized_graphs()
    {
        var dir = TestData.TempDir();
        var r = Cli.Run("bench", "--alphas", "0.25", "--sizes", "64", "--precision", "fp32,int8", "--threads", "1", "--budget-seconds", "0.05",
            "--optimized-graphs", Path.Combine(dir, "graphs"), "-o", Path.Combine(dir, "out"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("not timed: torch: int8 not timed", r.Stdout);
        var doc = BenchDocument.Load(Path.Combine(dir, "out", "bench.json"));
        Assert.Equal(["torch Fp32", "onnx Fp32", "onnx Int8"], doc.Results.Select(x => $"{x.Backend} {x.Precision}"));
        Assert.Contains("| onnx/cpu int8 | 1 | 0.25 | 64 |", File.ReadAllText(Path.Combine(dir, "out", "bench.md")));
        var graphs = Directory.GetFiles(Path.Combine(dir, "graphs")).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(["a0.25-s64-int8-model-x1-b1.optimized.onnx", "a0.25-s64-model-x1-b1.optimized.onnx"], graphs);
    }

    [Fact]
    public void An_int8_onnx_file_is_timed_as_int8_and_other_precisions_of_it_are_refused()
    {
        var dir = TestData.TempDir();
        var file = Path.Combine(dir, "tiny.int8.onnx");
        Torch.EnsureReady();
        using (var net = new MobileUNet.Model.MobileUNet(new ModelSpec(0.25, 64)))
        {
            net.eval();
            OnnxExporter.Export(net, file, new OnnxExportOptions { Precision = OnnxPrecision.Int8 });
        }
        var r = Cli.Run("bench", "--model", file, "--threads", "1", "--budget-seconds", "0.05", "-o", Path.Combine(dir, "out"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        var result = Assert.Single(BenchDocument.Load(Path.Combine(dir, "out", "bench.json")).Results);
        Assert.Equal(OnnxPrecision.Int8, result.Precision);
        Assert.Null(result.TransposedConv); // timed as written: the bench did not choose its form

        var refused = Cli.Run("bench", "--model", file, "--precision", "fp32", "-o", Path.Combine(dir, "out2"));
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("is an int8 ONNX graph and is timed as written", refused.Stderr);
        Assert.False(Directory.Exists(Path.Combine(dir, "out2")));
    }

    [Fact]
    public void Bench_times_an_onnx_export_at_its_own_spec_on_onnx_only()
    {
        var dir = TestData.TempDir();
        var file = Path.Combine(dir, "tiny.onnx");
        Torch.EnsureReady();
        using (var net = new MobileUNet.Model.MobileUNet(new ModelSpec(0.25, 64, Upsampling.NearestConv)))
            OnnxExporter.Export(net, file);
        var r = Cli.Run("bench", "--model", file, "--threads", "1", "--budget-seconds", "0.05", "-o", Path.Combine(dir, "out"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        var result = Assert.Single(BenchDocument.Load(Path.Combine(dir, "out", "bench.json")).Results);
        Assert.Equal("onnx", result.Backend);
        Assert.Equal(new ModelSpec(0.25, 64, Upsampling.NearestConv), result.Spec);

        var foreign = Path.Combine(dir, "foreign.onnx");
        File.WriteAllBytes(foreign, [1, 2, 3, 4]);
        var bad = Cli.Run("bench", "--model", foreign, "-o", Path.Combine(dir, "out2"));
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("foreign.onnx", bad.Stderr);
        Assert.False(Directory.Exists(Path.Combine(dir, "out2")));
    }
}

public class OperatorProfileTests
{
    /// <summary>A two-conv graph: depthwise 3x3 -> Clip -> pointwise 1x1 -> Clip, as the exporter names them.</summary>
    static Onnx.GraphProto Graph()
    {
        var g = new Onnx.GraphProto();
        Onnx.NodeProto Node(string op, string name, string[] inputs, string output, long group = 1)
        {
            var n = new Onnx.NodeProto { OpType = op, Name = name };
            n.Input.AddRange(inputs);
            n.Output.Add(output);
            if (op == "Conv") n.Attribute.Add(new Onnx.AttributeProto { Name = "group", Type = Onnx.AttributeProto.Types.AttributeType.Int, I = group });
            return n;
        }
        var dw = new Onnx.TensorProto { Name = "dw.w" };
        dw.Dims.AddRange([8, 1, 3, 3]);
        var pw = new Onnx.TensorProto { Name = "pw.w" };
        pw.Dims.AddRange([16, 8, 1, 1]);
        g.Initializer.AddRange([dw, pw]);
        g.Node.Add(Node("Conv", "b01.depthwise/Conv", ["x", "dw.w"], "b01.depthwise/Conv:0", group: 8));
        g.Node.Add(Node("Clip", "b01.dw.relu6/Clip", ["b01.depthwise/Conv:0"], "b01.dw.relu6/Clip:0"));
        g.Node.Add(Node("Conv", "b01.pointwise/Conv", ["b01.dw.relu6/Clip:0", "pw.w"], "b01.pointwise/Conv:0"));
        g.Node.Add(Node("Clip", "b01.relu6/Clip", ["b01.pointwise/Conv:0"], "b01"));
        return g;
    }

    static string Event(string cat, string name, long ts, long dur, string op = "") =>
        $$$"""{"cat":"{{{cat}}}","name":"{{{name}}}","ts":{{{ts}}},"dur":{{{dur}}},"args":{"op_name":"{{{op}}}"}}""";

    [Fact]
    public void Fused_nchwc_nodes_map_to_their_exported_convs_and_warmup_runs_are_left_out()
    {
        var events = new List<string>();
        for (int run = 0; run < 3; run++)
        {
            long t = run * 1000;
            events.Add(Event("Session", "model_run", t, 500));
            // Named after the fused activation's output tensor, as ONNX Runtime's NCHWc rewrite names them.
            events.Add(Event("Node", "b01.dw.relu6/Clip:0_nchwc_kernel_time", t + 10, run == 0 ? 900 : 100, "Conv"));
            events.Add(Event("Node", "b01.dw.relu6/Clip:0_nchwc_fence_before", t + 10, 7, "Conv"));
            events.Add(Event("Node", "b01_nchwc_kernel_time", t + 200, 300, "Conv"));
            events.Add(Event("Node", "ReorderOutput_token_3_kernel_time", t + 400, 100, "ReorderOutput"));
        }
        var ops = OperatorProfile.Summarise("[" + string.Join(",", events) + "]", Graph(), warmupRuns: 1);

        Assert.Equal(["pointwise conv", "depthwise conv", "layout reorder (NCHWc)"], ops.Select(o => o.Operator));
        var dw = ops.Single(o => o.Operator == "depthwise conv");
        Assert.Equal(0.1, dw.MsPerRun, 9); // the 900 us warm-up run and the fence events are not counted
        Assert.Equal(1, dw.Nodes);
        Assert.Equal(0.3, ops[0].MsPerRun, 9);
        Assert.Equal(0.6, ops[0].Share, 9);
    }

    [Fact]
    public void A_trace_with_no_run_past_the_warmup_is_refused()
    {
        var trace = "[" + Event("Session", "model_run", 0, 10) + "]";
        Assert.Throws<InvalidDataException>(() => OperatorProfile.Summarise(trace, Graph(), warmupRuns: 1));
    }
}
