using System.Diagnostics;
using MobileUNet.Export;
using MobileUNet.Inference;
using MobileUNet.Model;
using SkiaSharp;
using static MobileUNet.Tests.OnnxTestSupport;
using static TorchSharp.torch;
using MobileUNet.Data;

namespace MobileUNet.Tests;

public sealed class OnnxPrecisionTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("onnxprec-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void Fp16_runs_in_onnx_runtime_within_1e2_of_fp32_with_float32_or_float16_io()
    {
        using var model = RandomModel(new ModelSpec(0.25, 64), 8);
        var fp32 = OnnxExporter.ToBytes(model);
        var fp16 = OnnxExporter.ToBytes(model, new OnnxExportOptions { Precision = OnnxPrecision.Fp16 });
        Assert.True(fp16.Length < 0.6 * fp32.Length, $"fp16 file {fp16.Length} bytes vs fp32 {fp32.Length}");
        using var x = randn(1, 3, 64, 64);
        var reference = Run(fp32, (OnnxExporter.InputName, x))[OnnxExporter.OutputName];
        var half = Run(fp16, (OnnxExporter.InputName, x))[OnnxExporter.OutputName];
        float diff = MaxAbsDiff(reference, half);
        Assert.True(diff is > 0 and <= 1e-2f, $"fp16 vs fp32: {diff}");

        var halfIoPath = Path.Combine(dir, "half-io.onnx");
        OnnxExporter.Export(model, halfIoPath, new OnnxExportOptions { Precision = OnnxPrecision.Fp16, Float16Io = true });
        using var segmenter = OnnxSegmenter.Open(halfIoPath);
        Assert.Equal(OnnxPrecision.Fp16, segmenter.Metadata.Precision);
        var probabilities = new float[64 * 64];
        segmenter.Run(Floats(x), probabilities);
        Assert.True(MaxAbsDiff(reference, probabilities) <= 1e-2f);
    }

    [Fact]
    public void Int8_calibrated_on_an_image_folder_loads_runs_and_agrees_with_fp32_on_most_pixels()
    {
        const int size = 64;
        var images = Directory.CreateDirectory(Path.Combine(dir, "calibration")).FullName;
        for (int i = 0; i < 4; i++) DrawScene(Path.Combine(images, $"scene{i}.png"), 160, 120, i);
        File.WriteAllText(Path.Combine(images, "notes.txt"), "not an image: skipped by extension");

        using var model = RandomModel(new ModelSpec(0.25, size), 9);
        var calibration = Int8Calibration.FromFolder(images, size, Normalization.ImageNet, count: 4);
        Assert.Equal(4, calibration.Images.Count);
        var fp32Path = Path.Combine(dir, "fp32.onnx");
        var int8Path = Path.Combine(dir, "int8.onnx");
        OnnxExporter.Export(model, fp32Path);
        OnnxExporter.Export(model, int8Path, new OnnxExportOptions { Precision = OnnxPrecision.Int8, Calibration = calibration });
        var proto = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(int8Path));
        Assert.Contains(proto.Graph.Node, n => n.OpType == "QuantizeLinear");
        Assert.DoesNotContain(proto.Graph.Node, n => n.OpType == "ConvTranspose");
        Assert.True(new FileInfo(int8Path).Length < 0.4 * new FileInfo(fp32Path).Length);

        using var fp32 = OnnxSegmenter.Open(fp32Path);
        using var int8 = OnnxSegmenter.Open(int8Path);
        Assert.Equal(OnnxPrecision.Int8, int8.Metadata.Precision);
        var scene = Path.Combine(dir, "test-scene.png");
        DrawScene(scene, 200, 150, 7);
        var chw = Int8Calibration.FromFolder(dir, size, Normalization.ImageNet, 1).Images[0];
        var a = new float[size * size];
        var b = new float[size * size];
        fp32.Run(chw, a);
        int8.Run(chw, b);
        int foreground = a.Count(p => p > 0.5f);
        Assert.InRange(foreground, size * size / 20, size * size * 19 / 20); // both classes present: agreement is not trivial
        double agreement = a.Zip(b).Count(p => (p.First > 0.5f) == (p.Second > 0.5f)) / (double)a.Length;
        Assert.True(agreement >= 0.9, $"int8 mask agrees with fp32 on {agreement:P1} of pixels");
        Assert.True(MaxAbsDiff(a, b) > 0, "int8 output is identical to fp32: quantisation did nothing");
    }

    [Fact]
    public void Exports_pass_the_onnx_projects_own_checker()
    {
        using var model = RandomModel(new ModelSpec(0.25, 64, Upsampling.NearestConv), 10);
        var paths = new List<string>();
        foreach (var (precision, part) in new[] { (OnnxPrecision.Fp32, OnnxPart.Full), (OnnxPrecision.Fp16, OnnxPart.Full), (OnnxPrecision.Int8, OnnxPart.Full), (OnnxPrecision.Fp32, OnnxPart.Decoder) })
        {
            var path = Path.Combine(dir, $"{precision}-{part}.onnx");
            OnnxExporter.Export(model, path, new OnnxExportOptions { Precision = precision, Part = part });
            paths.Add(path);
        }
        var script = Path.Combine(RepoRoot(), "scripts", "check-onnx.sh");
        var result = RunProgram(script, [.. paths]);
        Assert.True(result.ExitCode == 0, result.Stderr + result.Stdout);
        Assert.Equal(paths.Count, result.Stdout.Split('\n').Count(l => l.StartsWith("ok ")));

        // The checker does reject a broken graph: drop a node, leaving a dangling input.
        var broken = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(paths[0]));
        broken.Graph.Node.RemoveAt(3);
        var brokenPath = Path.Combine(dir, "broken.onnx");
        File.WriteAllBytes(brokenPath, Google.Protobuf.MessageExtensions.ToByteArray(broken));
        Assert.NotEqual(0, RunProgram(script, brokenPath).ExitCode);
    }

    internal static Cli.Result RunProgram(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return new Cli.Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>A photo-like test card: a sky gradient, a ground band and a few filled shapes.</summary>
    static void DrawScene(string path, int width, int height, int seed)
    {
        var random = new Random(seed);
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888));
        var canvas = surface.Canvas;
        using (var sky = new SKPaint
        {
            Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(0, height),
                   [new SKColor(90, 140, (byte)(200 + seed * 5)), new SKColor(220, 230, 240)], SKShaderTileMode.Clamp)
        })
            canvas.DrawRect(0, 0, width, height, sky);
        using (var ground = new SKPaint { Color = new SKColor(70, (byte)(110 + seed * 10), 60) })
            canvas.DrawRect(0, height * 0.65f, width, height, ground);
        for (int i = 0; i < 3; i++)
        {
            using var paint = new SKPaint { Color = new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)), IsAntialias = true };
            canvas.DrawCircle(random.Next(width), random.Next(height), 10 + random.Next(height / 3), paint);
        }
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
    }

    internal static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "MobileUNet.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("repository root (MobileUNet.sln) not found above the test binaries");
    }
}
