using MobileUNet.Model;
using static TorchSharp.torch;

namespace MobileUNet.Tests;

public sealed class WeightsFileTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("munet-weights-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void Save_then_load_gives_the_same_outputs()
    {
        Torch.EnsureReady();
        var spec = new ModelSpec(0.25, 64, Upsampling.NearestConv, alphaUp: 0.5);
        using var model = new Model.MobileUNet(spec);
        model.eval();
        var path = Path.Combine(dir, "m" + WeightsFormat.Extension);
        WeightsFile.Save(model, path);
        Assert.Equal([path], Directory.GetFiles(dir)); // no temp file left behind

        Assert.Equal(spec, WeightsFormat.ReadHeader(path).Spec);
        var (loaded, header) = WeightsFile.Load(path);
        using (loaded)
        {
            loaded.eval();
            Assert.Equal(spec, header.Spec);
            using var _ = no_grad();
            using var x = randn(1, 3, 64, 64);
            using var a = model.forward(x);
            using var b = loaded.forward(x);
            Assert.True(a.allclose(b, rtol: 0, atol: 0));
        }
    }

    [Fact]
    public void Loading_weights_of_another_spec_names_both()
    {
        var path = Path.Combine(dir, "half.munet");
        using (var half = new Model.MobileUNet(new ModelSpec(0.5, 128))) WeightsFile.Save(half, path);
        using var quarter = new Model.MobileUNet(new ModelSpec(0.25, 128));
        var e = Assert.Throws<InvalidDataException>(() => WeightsFile.LoadInto(quarter, path));
        Assert.Contains("alpha=0.5", e.Message);
        Assert.Contains("alpha=0.25", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Truncated_or_foreign_files_get_a_clear_error()
    {
        var path = Path.Combine(dir, "m.munet");
        using (var model = new Model.MobileUNet(new ModelSpec(0.25, 64))) WeightsFile.Save(model, path);
        var bytes = File.ReadAllBytes(path);

        var truncated = Path.Combine(dir, "truncated.munet");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => WeightsFile.Load(truncated).Model.Dispose());
        Assert.StartsWith(truncated, e.Message);

        var foreign = Path.Combine(dir, "foreign.munet");
        File.WriteAllText(foreign, "hello");
        e = Assert.Throws<InvalidDataException>(() => WeightsFormat.ReadHeader(foreign));
        Assert.Contains("not a MobileUNet weights file", e.Message);

        var empty = Path.Combine(dir, "empty.munet");
        File.WriteAllBytes(empty, []);
        Assert.Throws<InvalidDataException>(() => WeightsFormat.ReadHeader(empty));

        Assert.Throws<FileNotFoundException>(() => WeightsFormat.ReadHeader(Path.Combine(dir, "missing.munet")));
    }
}
