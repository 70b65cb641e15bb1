using System.Globalization;
using System.Text.Json.Nodes;
using MobileUNet.Benchmarks;
using MobileUNet.Inference;
using MobileUNet.Model;
using Microsoft.AspNetCore.Builder;
using Xunit.Abstractions;

namespace MobileUNet.Serve.Tests;

/// <summary>
/// The bench page in a real browser (Debian's chromium, headless; scripts/test.sh installs it): the tiny grid
/// alpha 0.25 x 64 with every part and every block, a few runs each, timed by onnxruntime-web in the page and
/// posted back; the test reads the bench.json the server saved. WebGPU is exercised through SwiftShader for
/// correctness only (the page labels those timings as not a GPU's); where a chromium has no WebGPU, the page must
/// say so, and the tests check what the page said.
/// </summary>
public class BenchPageTests(ITestOutputHelper output)
{
    const string TinyGrid = "alpha=0.25&size=64&block-alpha=0.25&block-size=64&runs=3&warmup=0&seconds=0.1";

    [Fact]
    public async Task Bench_page_times_the_tiny_grid_and_the_server_saves_a_bench_json()
    {
        var (dir, benchDir) = Folders();
        await using var app = await Start(benchDir);
        // --disable-gpu: navigator.gpu exists but gives no adapter (checked with this chromium), so this run is WASM
        // alone and the page must say why WebGPU did not run.
        using var browser = Chromium.Launch(dir, $"{app.Urls.Single()}/bench?{TinyGrid}&device=headless-chromium&run=1", ["--disable-gpu"]);
        var state = await Finished(browser);
        if (Environment.GetEnvironmentVariable("MOBILEUNET_BENCH_SCREENSHOT") is { Length: > 0 } shot)
            await File.WriteAllBytesAsync(shot, await browser.ScreenshotAsync());

        var doc = BenchDocument.Load(Path.Combine(benchDir, "headless-chromium", "bench.json"));
        Report(doc);
        Assert.Equal("headless-chromium", doc.Machine.Label);
        Assert.StartsWith("onnxruntime-web 1.30", doc.Machine.OnnxRuntime);
        // The CLI bench's jobs for a0.25/64: whole model, encoder, a decoder per upsampling; a conv and a
        // depthwise block at each of the 9 encoder stages.
        Assert.Equal([BenchPart.Model, BenchPart.Encoder, BenchPart.Decoder, BenchPart.Decoder, BenchPart.Decoder], doc.Results.Select(r => r.Part));
        Assert.Equal(Enum.GetValues<Upsampling>(), doc.Results.Where(r => r.Part == BenchPart.Decoder).Select(r => r.Spec.Upsampling));
        Assert.All(doc.Results, r => Assert.True(r.ExecutionProvider == "wasm" && r.Latency.Runs is >= 1 and <= 3 && r.Latency.MedianMs > 0, $"{r.Spec.Label} {r.Part}: {r.Latency}"));
        Assert.Equal(BenchGrid.BlockJobs(new ModelSpec(0.25, 64)).Select(j => (j.Shape, j.Kind)), doc.Blocks.Select(b => (b.Shape, b.Block)));
        Assert.All(doc.Blocks, b => Assert.Equal("wasm", b.ExecutionProvider));

        var webgpu = state["backends"]!.AsArray().Single(b => b!["name"]!.GetValue<string>() == "webgpu")!;
        Assert.False(webgpu["available"]!.GetValue<bool>());
        var reason = webgpu["reason"]!.GetValue<string>();
        output.WriteLine($"the page says: webgpu unavailable: {reason}");
        Assert.Contains("unavailable: " + reason, await browser.EvaluateAsync("document.getElementById('backends').textContent"));
        Assert.Contains($"webgpu not run: {reason}", doc.Settings.CommandLine);
    }

    [Fact]
    public async Task Webgpu_on_swiftshader_computes_the_wasm_mask_and_is_labelled_as_not_a_gpu()
    {
        var (dir, benchDir) = Folders();
        await using var app = await Start(benchDir);
        // Correctness only (SwiftShader is the CPU): the parts of the tiny grid; blocks run through the same code.
        using var browser = Chromium.Launch(dir, $"{app.Urls.Single()}/bench?alpha=0.25&size=64&blocks=0&runs=2&warmup=0&seconds=0.1&device=swiftshader&run=1",
            ["--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader"]);
        var state = await Finished(browser);
        var doc = BenchDocument.Load(Path.Combine(benchDir, "swiftshader", "bench.json"));
        Report(doc);

        var webgpu = state["backends"]!.AsArray().Single(b => b!["name"]!.GetValue<string>() == "webgpu")!;
        // Debian's chromium gives a SwiftShader WebGPU adapter with these flags: the WebGPU half must run here (the
        // page's "no adapter" report is covered by the other test, which turns the GPU off).
        Assert.True(webgpu["available"]!.GetValue<bool>(), $"WebGPU unavailable, the page says: {webgpu["reason"]}");
        output.WriteLine($"WebGPU adapter: {webgpu["adapter"]}, software: {webgpu["software"]}");
        // SwiftShader is what was asked for: the page and the record both say these are not a GPU's timings.
        Assert.True(webgpu["software"]!.GetValue<bool>());
        Assert.True(state["software"]!.GetValue<bool>());
        Assert.Contains("not representative of a GPU", await browser.EvaluateAsync("document.getElementById('warning').textContent"));
        Assert.Contains("not representative of a GPU", doc.Settings.CommandLine);
        var wasm = doc.Results.Where(r => r.ExecutionProvider == "wasm").ToList();
        var gpu = doc.Results.Where(r => r.ExecutionProvider == "webgpu-swiftshader").ToList();
        Assert.Equal(5, wasm.Count);
        Assert.Equal(wasm.Select(r => (r.Spec, r.Part)), gpu.Select(r => (r.Spec, r.Part)));

        // The same export on the same input gives the same mask on both backends.
        var label = new ModelSpec(0.25, 64).Label + " full";
        var (a, b) = (state["checks"]!["wasm"]![label]!, state["checks"]!["webgpu"]![label]!);
        output.WriteLine($"check {label}: wasm mean {a["mean"]} weighted {a["weighted"]}; webgpu mean {b["mean"]} weighted {b["weighted"]}");
        Assert.Equal(a["mean"]!.GetValue<double>(), b["mean"]!.GetValue<double>(), 1e-4);
        Assert.Equal(a["weighted"]!.GetValue<double>(), b["weighted"]!.GetValue<double>(), 1e-3);
    }

    static (string Dir, string BenchDir) Folders()
    {
        var dir = Path.Combine(Path.GetTempPath(), "munet-bench-page-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return (dir, Path.Combine(dir, "runs", "bench"));
    }

    static async Task<WebApplication> Start(string benchDir)
    {
        var app = ServeApp.Build(new ServeOptions { Model = new ModelSource.File(ServeTestHost.ModelPath), Port = 0, Threads = 1, BenchFolder = benchDir });
        await app.StartAsync();
        return app;
    }

    async Task<JsonNode> Finished(Chromium browser)
    {
        var started = DateTime.UtcNow;
        var state = await browser.WaitForAsync("window.mobileunet", s => s?["phase"]?.GetValue<string>() is "done" or "error", TimeSpan.FromSeconds(240));
        output.WriteLine($"page finished in {(DateTime.UtcNow - started).TotalSeconds:0.0} s: {state["phase"]}, {state["done"]}/{state["total"]} timed");
        Assert.True(state["error"] is null, $"the page failed: {state["error"]}");
        Assert.Equal("done", state["phase"]!.GetValue<string>());
        return state;
    }

    void Report(BenchDocument doc)
    {
        foreach (var r in doc.Results)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.ExecutionProvider,-19} x{r.Threads} {r.Spec.Label,-22} {r.Part,-8} median {r.Latency.MedianMs,8:0.000} ms  min {r.Latency.MinMs,8:0.000}  runs {r.Latency.Runs}"));
        foreach (var g in doc.Blocks.GroupBy(b => (b.ExecutionProvider, b.Shape.Stage)))
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{g.Key.ExecutionProvider,-19} block {g.Key.Stage,-8} conv {g.Single(b => b.Block == BlockKind.Conv).Latency.MedianMs,7:0.000} ms  depthwise {g.Single(b => b.Block == BlockKind.Depthwise).Latency.MedianMs,7:0.000} ms"));
    }
}
