using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MobileUNet.Benchmarks;
using MobileUNet.Export;
using MobileUNet.Model;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML.OnnxRuntime;

namespace MobileUNet.Serve.Tests;

/// <summary>
/// The bench page's API over the real service in-process: the plan (the CLI bench's grid and jobs), the untrained
/// exports it times, and the posted results saved as a bench.json that the real `bench merge` reads.
/// </summary>
public class BenchApiTests
{
    static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "munet-bench-api-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Fact]
    public async Task Export_serves_each_part_and_block_as_onnx_and_makes_each_once()
    {
        await using var host = await ServeTestHost.StartAsync();
        var cache = host.Services.GetRequiredService<BenchExportCache>();

        async Task<InferenceSession> Session(string query)
        {
            using var response = await host.Client.GetAsync("/v1/bench/export.onnx?" + query);
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
            return new InferenceSession(await response.Content.ReadAsByteArrayAsync());
        }

        using (var full = await Session("alpha=0.25&size=64&part=full"))
        {
            Assert.Equal([-1, 3, 64, 64], full.InputMetadata[OnnxExporter.InputName].Dimensions);
            Assert.Equal([-1, 1, 64, 64], full.OutputMetadata[OnnxExporter.OutputName].Dimensions);
            Assert.Equal("Full", full.ModelMetadata.CustomMetadataMap[OnnxMetadata.PartKey]);
        }
        using (var encoder = await Session("alpha=0.25&size=64&part=encoder"))
            Assert.Equal(OnnxExporter.FeatureNames.Select(f => f + "_out"), encoder.OutputMetadata.Keys.Order());
        using (var decoder = await Session("alpha=0.25&size=64&part=decoder&upsampling=BilinearConv"))
        {
            Assert.Equal(OnnxExporter.FeatureNames, decoder.InputMetadata.Keys.Order());
            var metadata = OnnxMetadata.FromProperties(decoder.ModelMetadata.CustomMetadataMap, "decoder");
            Assert.Equal((new ModelSpec(0.25, 64, Upsampling.BilinearConv), OnnxPart.Decoder), (metadata.Spec, metadata.Part));
        }
        var b03 = BlockShape.EncoderStages(new ModelSpec(0.25, 64)).Single(s => s.Stage == "b03");
        foreach (var kind in new[] { "conv", "depthwise" })
        {
            using var block = await Session($"alpha=0.25&size=64&block={kind}&stage=b03");
            Assert.Equal([-1, b03.InChannels, b03.InputSize, b03.InputSize], block.InputMetadata[OnnxExporter.BlockInputName].Dimensions);
            Assert.Equal([-1, b03.OutChannels, b03.OutputSize, b03.OutputSize], block.OutputMetadata[OnnxExporter.BlockOutputName].Dimensions);
        }
        Assert.Equal(5, cache.Exports);

        // Asked again (and the encoder under another upsampling, which it does not have): served from memory.
        using var again = await host.Client.GetAsync("/v1/bench/export.onnx?alpha=0.25&size=64&part=full");
        using var encoderAgain = await host.Client.GetAsync("/v1/bench/export.onnx?alpha=0.25&size=64&part=encoder&upsampling=NearestConv");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(HttpStatusCode.OK, encoderAgain.StatusCode);
        Assert.Equal(5, cache.Exports);
        Assert.True(cache.Bytes > 0 && cache.Bytes <= cache.CapacityBytes);
    }

    [Theory]
    [InlineData("alpha=0.3&size=64&part=full", "alpha must be one of")]
    [InlineData("alpha=2&size=64&part=full", "alpha must be one of")]
    [InlineData("size=64&part=full", "alpha must be one of")]
    [InlineData("alpha=0.25&size=65&part=full", "multiple of 32")]
    [InlineData("alpha=0.25&size=288&part=full", "multiple of 32 from 32 to 256")]
    [InlineData("alpha=0.25&size=-32&part=full", "multiple of 32")]
    [InlineData("alpha=0.25&size=64&part=head", "part must be full, encoder or decoder")]
    [InlineData("alpha=0.25&size=64", "give either part")]
    [InlineData("alpha=0.25&size=64&part=full&block=conv&stage=b01", "give either part")]
    [InlineData("alpha=0.25&size=64&block=dw&stage=b01", "block must be conv or depthwise")]
    [InlineData("alpha=0.25&size=64&block=conv&stage=b99", "stage must be one of")]
    [InlineData("alpha=0.25&size=64&block=conv", "stage must be one of")]
    [InlineData("alpha=0.25&size=64&part=decoder&upsampling=bicubic", "upsampling must be one of")]
    public async Task Export_refuses_parameters_outside_the_bounds_with_400_and_one_line(string query, string reason)
    {
        await using var host = await ServeTestHost.StartAsync();
        using var response = await host.Client.GetAsync("/v1/bench/export.onnx?" + query);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var line = Assert.Single((await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(reason, line);
        Assert.Equal(0, host.Services.GetRequiredService<BenchExportCache>().Exports);
    }

    [Fact]
    public async Task Plan_is_the_cli_bench_grid_with_its_jobs_per_spec_and_its_blocks()
    {
        await using var host = await ServeTestHost.StartAsync();
        var full = JsonNode.Parse(await host.Client.GetStringAsync("/v1/bench/plan"))!;
        Assert.Equal(BenchGrid.Alphas, full["alphas"]!.AsArray().Select(a => a!.GetValue<double>()));
        Assert.Equal(BenchGrid.Sizes, full["sizes"]!.AsArray().Select(a => a!.GetValue<int>()));
        int perSpec = BenchGrid.Jobs(new ModelSpec(1, 224), parts: true, Enum.GetValues<Upsampling>()).Count;
        Assert.Equal(BenchGrid.Alphas.Count * BenchGrid.Sizes.Count * perSpec, full["jobs"]!.AsArray().Count);
        Assert.Equal(BenchGrid.BlockJobs(new ModelSpec(BenchGrid.DefaultBlockAlpha, BenchGrid.DefaultBlockSize)).Count, full["blockJobs"]!.AsArray().Count);
        Assert.Equal(BenchGrid.DefaultBudgetSeconds, full["budget"]!["seconds"]!.GetValue<double>());

        var tiny = JsonNode.Parse(await host.Client.GetStringAsync("/v1/bench/plan?alpha=0.25&size=64&block-alpha=0.25&block-size=64&runs=5&warmup=1&seconds=0.2"))!;
        var jobs = tiny["jobs"]!.AsArray();
        Assert.Equal(["full", "encoder", "decoder", "decoder", "decoder"], jobs.Select(j => j!["part"]!.GetValue<string>()));
        Assert.Equal(Enum.GetNames<Upsampling>(), jobs.Skip(2).Select(j => j!["upsampling"]!.GetValue<string>()));
        var encoderUrl = jobs[1]!["url"]!.GetValue<string>();
        Assert.All(jobs.Skip(2), j => Assert.Equal(encoderUrl, j!["featuresUrl"]!.GetValue<string>()));
        Assert.Equal(18, tiny["blockJobs"]!.AsArray().Count);
        var budget = tiny["budget"]!;
        Assert.Equal((5, 5, 1, 0.2), (budget["maxRuns"]!.GetValue<int>(), budget["minRuns"]!.GetValue<int>(), budget["warmupRuns"]!.GetValue<int>(), budget["seconds"]!.GetValue<double>()));

        // Every URL the plan hands out is one the export endpoint accepts (a block, then a decoder variant).
        using var block = await host.Client.GetAsync(tiny["blockJobs"]![5]!["url"]!.GetValue<string>());
        using var decoder = await host.Client.GetAsync(jobs[4]!["url"]!.GetValue<string>());
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (block.StatusCode, decoder.StatusCode));

        foreach (var bad in new[] { "runs=0", "runs=2001", "seconds=0", "seconds=abc", "alpha=0.6", "size=33", "parts=maybe", "block-size=1024" })
        {
            using var response = await host.Client.GetAsync("/v1/bench/plan?" + bad);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, bad);
        }
    }

    /// <summary>A run as the page posts it: wasm and WebGPU on SwiftShader, the tiny grid, every part, two blocks.</summary>
    internal static BrowserBenchRun Run(bool webgpu = true)
    {
        double[] Samples(double ms) => [.. Enumerable.Range(0, 50).Select(i => ms + 0.01 * (i % 3))];
        var backends = new List<BrowserBackend> { new("wasm", true, 2) };
        backends.Add(webgpu ? new("webgpu", true, 2, Adapter: "google swiftshader", Software: true) : new("webgpu", false, 2, Reason: "no WebGPU adapter"));
        var results = new List<BrowserTiming>();
        var blocks = new List<BrowserBlockTiming>();
        foreach (var b in backends.Where(b => b.Available))
        {
            results.Add(new(b.Name, 0.25, 64, "TransposedConv", "full", Samples(4), 0.09));
            results.Add(new(b.Name, 0.25, 64, "TransposedConv", "encoder", Samples(3), 0.07));
            foreach (var up in Enum.GetNames<Upsampling>()) results.Add(new(b.Name, 0.25, 64, up, "decoder", Samples(1.5), 0.04));
            blocks.Add(new(b.Name, 0.25, 64, "b03", "conv", Samples(0.5), 0.01));
            blocks.Add(new(b.Name, 0.25, 64, "b03", "depthwise", Samples(0.2), 0.005));
        }
        return new BrowserBenchRun("onnxruntime-web 1.30.0", "Mozilla/5.0 (Linux; Android 14; Pixel 7) Chrome/156", "Android", 8,
            "alpha=0.25&size=64", 0.2, backends, results, blocks);
    }

    static StringContent Json(object body) => new(body as string ?? JsonSerializer.Serialize(body, BrowserBench.JsonOptions), Encoding.UTF8, "application/json");

    [Fact]
    public async Task A_posted_run_is_saved_as_a_bench_document_in_the_device_folder()
    {
        var dir = TempDir();
        await using var host = await ServeTestHost.StartAsync(o => o with { BenchFolder = Path.Combine(dir, "runs", "bench") });
        using var response = await host.Client.PostAsync("/v1/bench?device=" + Uri.EscapeDataString("Pixel 7 (Chrome)"), Json(Run()));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var path = Path.Combine(dir, "runs", "bench", "Pixel-7-Chrome", "bench.json");
        Assert.Equal(Path.Combine(dir, "runs", "bench", "Pixel-7-Chrome", "bench.json"), answer["saved"]!.GetValue<string>());
        Assert.Contains("ort-web/webgpu-swiftshader", answer["table"]!.GetValue<string>());

        var doc = BenchDocument.Load(path);
        Assert.Equal("Pixel 7 (Chrome)", doc.Machine.Label);
        Assert.Equal("onnxruntime-web 1.30.0", doc.Machine.OnnxRuntime);
        Assert.Equal(10, doc.Results.Count);
        Assert.Equal(4, doc.Blocks.Count);
        Assert.Equal(["wasm", "webgpu-swiftshader"], doc.Results.Select(r => r.ExecutionProvider).Distinct());
        Assert.Contains("not representative of a GPU", doc.Settings.CommandLine);
        Assert.True(doc.Settings.Parts && doc.Settings.Blocks);

        // Statistics, sizes and stability come from the library's own definitions, not the page.
        var full = doc.Results.First(r => r.Part == BenchPart.Model);
        Assert.Equal(LatencyStats.Of(Run().Results[0].SamplesMs), full.Latency);
        Assert.Equal(ModelSummary.Of(new ModelSpec(0.25, 64)).Parameters, full.Parameters);
        Assert.True(full.Stable); // 50 runs of the same few values: the CLI's rule calls that stable at its third check
        var decoder = doc.Results.Single(r => r.Part == BenchPart.Decoder && r.ExecutionProvider == "wasm" && r.Spec.Upsampling == Upsampling.NearestConv);
        Assert.Equal(BenchStudy.Size(ModelSummary.Of(new ModelSpec(0.25, 64, Upsampling.NearestConv)), BenchPart.Decoder), (decoder.Parameters, decoder.Macs));
        var conv = doc.Blocks.First(b => b.Block == BlockKind.Conv);
        Assert.Equal(BlockShape.EncoderStages(new ModelSpec(0.25, 64)).Single(s => s.Stage == "b03"), conv.Shape);
        Assert.Equal(conv.Shape.ConvMacs, conv.Macs);

        // A rerun from the same device replaces the file whole (atomic write; no temp files left).
        using var rerun = await host.Client.PostAsync("/v1/bench?device=" + Uri.EscapeDataString("Pixel 7 (Chrome)"), Json(Run(webgpu: false)));
        Assert.Equal(HttpStatusCode.Created, rerun.StatusCode);
        var second = BenchDocument.Load(path);
        Assert.Equal(5, second.Results.Count);
        Assert.Contains("webgpu not run: no WebGPU adapter", second.Settings.CommandLine);
        Assert.Equal(["bench.json"], Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName));
    }

    public static TheoryData<string, string> BadBodies => new()
    {
        { "not json", "not a bench run" },
        { "null", "JSON null" },
        { "{}", "not a bench run" },
        { "[1,2,3]", "not a bench run" },
        { Mutate(r => r with { Results = [], Blocks = [] }), "no timings" },
        { Mutate(r => r with { Backends = [new("cuda", true, 1)] }), "is not wasm or webgpu" },
        { Mutate(r => r with { Results = [r.Results[0] with { Backend = "webgpu" }], Backends = [r.Backends[0], r.Backends[1] with { Available = false }] }), "not an available backend" },
        { Mutate(r => r with { Results = [r.Results[0] with { SamplesMs = [1, -2] }] }), "is not a latency" },
        { Mutate(r => r with { Results = [r.Results[0] with { SamplesMs = [] }] }), "samplesMs must hold" },
        { Mutate(r => r with { Results = [r.Results[0] with { SamplesMs = new double[BenchQuery.MaxRuns + 1] }] }), "samplesMs must hold" },
        { Mutate(r => r with { Results = [r.Results[0] with { Alpha = 0.3 }] }), "results[0].alpha must be one of" },
        { Mutate(r => r with { Results = [r.Results[0] with { Size = 1000 }] }), "results[0].size must be a multiple of 32" },
        { Mutate(r => r with { Results = [r.Results[0] with { Part = "head" }] }), "part must be full, encoder or decoder" },
        { Mutate(r => r with { Blocks = [r.Blocks[0] with { Stage = "../b03" }] }), "is not an encoder stage" },
        { Mutate(r => r with { Cores = 0 }), "cores must be" },
        { Mutate(r => r with { UserAgent = new string('x', 600) }), "userAgent is over" },
        { JsonSerializer.Serialize(Run(), BrowserBench.JsonOptions).Replace("\"cores\"", "\"extra\":1,\"cores\"", StringComparison.Ordinal), "not a bench run" },
    };

    static string Mutate(Func<BrowserBenchRun, BrowserBenchRun> change) => JsonSerializer.Serialize(change(Run()), BrowserBench.JsonOptions);

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task A_malformed_run_is_400_with_one_line_and_saves_nothing(string body, string reason)
    {
        var dir = TempDir();
        await using var host = await ServeTestHost.StartAsync(o => o with { BenchFolder = dir });
        using var response = await host.Client.PostAsync("/v1/bench?device=phone", Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
        Assert.Contains(reason, Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    [Theory]
    [InlineData("", "device label missing")]
    [InlineData("   ", "device label missing")]
    [InlineData("../../etc", "must not contain")]
    [InlineData("..", "must not contain")]
    [InlineData("a/b", "must not contain")]
    [InlineData("a\\b", "must not contain")]
    [InlineData("tab\there", "control characters")]
    [InlineData("((()))", "at least one letter or digit")]
    [InlineData("a-label-that-goes-on-and-on-and-on-well-past-the-sixty-four-character-limit", "at most 64")]
    public async Task A_device_label_that_could_leave_the_bench_folder_is_400(string label, string reason)
    {
        var dir = TempDir();
        await using var host = await ServeTestHost.StartAsync(o => o with { BenchFolder = Path.Combine(dir, "bench") });
        using var response = await host.Client.PostAsync("/v1/bench?device=" + Uri.EscapeDataString(label), Json(Run()));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(reason, await response.Content.ReadAsStringAsync());
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    [Fact]
    public async Task A_body_over_the_bench_limit_is_413()
    {
        var dir = TempDir();
        await using var host = await ServeTestHost.StartAsync(o => o with { BenchFolder = dir });
        var huge = new byte[BrowserBench.MaxBodyBytes + 1];
        Array.Fill(huge, (byte)' ');
        using var response = await host.Client.PostAsync("/v1/bench?device=phone", new ByteArrayContent(huge));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    [Fact]
    public async Task Bench_merge_puts_the_saved_phone_run_beside_a_cli_bench_of_this_machine()
    {
        var dir = TempDir();
        await using (var host = await ServeTestHost.StartAsync(o => o with { BenchFolder = Path.Combine(dir, "runs", "bench") }))
        {
            using var response = await host.Client.PostAsync("/v1/bench?device=pixel-7", Json(Run()));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }
        var cli = Mobileunet("bench", "--backend", "onnx", "--alphas", "0.25", "--sizes", "64", "--threads", "1", "--budget-seconds", "0.05",
            "--machine", "this-machine", "-o", Path.Combine(dir, "runs", "bench", "this-machine"));
        Assert.True(cli.ExitCode == 0, cli.Stderr);

        var merged = Mobileunet("bench", "merge", Path.Combine(dir, "runs", "bench", "this-machine", "bench.json"),
            Path.Combine(dir, "runs", "bench", "pixel-7", "bench.json"), "-o", Path.Combine(dir, "merged"));
        Assert.True(merged.ExitCode == 0, merged.Stderr);
        var table = File.ReadAllText(Path.Combine(dir, "merged", "merged.md"));
        Assert.Contains("this-machine onnx/cpu x1", table);
        Assert.Contains("pixel-7 ort-web/wasm x2", table);
        Assert.Contains("pixel-7 ort-web/webgpu-swiftshader x2", table);
        var csv = File.ReadAllLines(Path.Combine(dir, "merged", "merged.csv"));
        Assert.Equal(1 + 1 + 10, csv.Length); // header, the CLI's one result, the phone's ten
    }

    sealed record Process(int ExitCode, string Stdout, string Stderr);

    /// <summary>The real `mobileunet` program (the CLI assembly beside the tests) as a child process.</summary>
    static Process Mobileunet(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "MobileUNet.Cli.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = System.Diagnostics.Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return new Process(process.ExitCode, stdout.Result, stderr.Result);
    }
}
