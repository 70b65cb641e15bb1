using MobileUNet.Export;
using MobileUNet.Inference;
using MobileUNet.Model;

namespace MobileUNet.Tests;

public sealed class ExportCliTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("exportcli-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void Export_untrained_writes_a_model_onnx_runtime_opens()
    {
        var output = Path.Combine(dir, "a025.onnx");
        var r = Cli.Run("export", "--untrained", "--alpha", "0.25", "--size", "64", "--upsampling", "BilinearConv", "-o", output);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("wrote", r.Stdout);
        using var segmenter = OnnxSegmenter.Open(output);
        Assert.Equal(new ModelSpec(0.25, 64, Upsampling.BilinearConv), segmenter.Spec);
    }

    [Fact]
    public void Export_of_a_weights_file_keeps_its_spec_and_takes_part_and_precision()
    {
        var weights = Path.Combine(dir, "m.munet");
        using (var model = OnnxTestSupport.RandomModel(new ModelSpec(0.25, 64), 12)) WeightsFile.Save(model, weights);
        var encoder = Path.Combine(dir, "encoder.onnx");
        var r = Cli.Run("export", weights, "--part", "encoder", "--precision", "fp16", "-o", encoder);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var proto = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(encoder));
        Assert.Equal(OnnxExporter.FeatureNames.Select(n => n + "_out"), proto.Graph.Output.Select(o => o.Name));
        Assert.Contains(proto.MetadataProps, p => p.Key == OnnxMetadata.PrecisionKey && p.Value == "Fp16");
    }

    [Fact]
    public void Export_of_a_bad_weights_file_fails_with_one_line_and_writes_nothing()
    {
        var bad = Path.Combine(dir, "bad.munet");
        File.WriteAllText(bad, "not weights");
        var output = Path.Combine(dir, "out.onnx");
        var r = Cli.Run("export", bad, "-o", output);
        Assert.NotEqual(0, r.ExitCode);
        var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error:", line);
        Assert.Contains(bad, line);
        Assert.Empty(Directory.GetFiles(dir, "*.onnx*"));
        Assert.Empty(Directory.GetFiles(dir, ".*"));
    }

    [Fact]
    public void Export_refuses_a_missing_calibration_folder()
    {
        var output = Path.Combine(dir, "int8.onnx");
        var missing = Path.Combine(dir, "no-such-dir");
        var r = Cli.Run("export", "--untrained", "--alpha", "0.25", "--size", "64", "--precision", "int8", "--calibration", missing, "-o", output);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains(missing, r.Stderr);
        Assert.False(File.Exists(output));
    }
}
