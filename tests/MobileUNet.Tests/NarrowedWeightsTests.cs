using MobileUNet.Model;
using static TorchSharp.torch;

namespace MobileUNet.Tests;

/// <summary>
/// <c>train --init WIDER --alpha NARROWER</c>: a wider model is narrowed by keeping each channel set's channels of
/// largest batch-norm scale. Checked on a wide model built so that only some channels carry anything: narrowing must
/// keep exactly those and compute the wide model's function.
/// </summary>
public sealed class NarrowedWeightsTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("munet-narrow-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Theory]
    [InlineData(Upsampling.TransposedConv)]
    [InlineData(Upsampling.NearestConv)]
    public void A_wider_model_whose_other_channels_are_silent_narrows_to_the_same_function(Upsampling upsampling)
    {
        Torch.EnsureReady();
        using var wide = new Model.MobileUNet(new ModelSpec(0.5, 64, upsampling), seed: 3);
        using var narrow = new Model.MobileUNet(new ModelSpec(0.25, 64, upsampling), seed: 4);
        Silence(wide, narrow, new Random(5));
        wide.eval();
        var path = Path.Combine(dir, "wide.munet");
        WeightsFile.Save(wide, path);

        WeightsFile.StartFrom(narrow, path);
        narrow.eval();
        using var _ = no_grad();
        using var x = randn(2, 3, 64, 64, generator: new TorchSharp.torch.Generator(7));
        using var expected = wide.forward(x);
        using var actual = narrow.forward(x);
        using var diff = expected.sub(actual).abs().max();
        Assert.True(diff.item<float>() < 1e-4, $"max abs difference {diff.item<float>()}");
        using var spread = expected.std();
        Assert.True(spread.item<float>() > 0.01, "the wide model's output is flat: the check would prove nothing");
    }

    [Fact]
    public void A_narrower_or_other_source_is_refused_by_name()
    {
        Torch.EnsureReady();
        var path = Path.Combine(dir, "quarter.munet");
        using (var quarter = new Model.MobileUNet(new ModelSpec(0.25, 64))) WeightsFile.Save(quarter, path);
        using var half = new Model.MobileUNet(new ModelSpec(0.5, 64));
        var e = Assert.Throws<InvalidDataException>(() => WeightsFile.StartFrom(half, path));
        Assert.Contains(path, e.Message);
        Assert.Contains("alpha=0.25", e.Message);

        var nearest = Path.Combine(dir, "nearest.munet");
        using (var other = new Model.MobileUNet(new ModelSpec(0.5, 64, Upsampling.NearestConv))) WeightsFile.Save(other, nearest);
        using var transposed = new Model.MobileUNet(new ModelSpec(0.25, 64));
        e = Assert.Throws<InvalidDataException>(() => WeightsFile.StartFrom(transposed, nearest));
        Assert.Contains(nearest, e.Message);
        Assert.Contains("upsamples", e.Message);
    }

    // Gives every norm random statistics, then, for each tensor that flows between layers, keeps a random subset of
    // the narrow model's width live (scales of magnitude 0.5-1.5) and silences the rest: its producer emits zero (norm
    // scale and shift 0, or an upsampling's weights and bias 0) and every norm that reads it one to one (the next
    // depthwise layer's, or a decoder stage's at the skip's offset) passes zero on. Written out here from the
    // architecture, independently of the narrowing's own map.
    static void Silence(Model.MobileUNet wide, Model.MobileUNet narrow, Random random)
    {
        var w = wide.state_dict();
        var n = narrow.state_dict();
        using var _ = no_grad();
        float Uniform(double lo, double hi) => (float)(lo + (hi - lo) * random.NextDouble());
        foreach (var bn in w.Keys.Where(k => k.EndsWith(".running_var")).Select(k => k[..^".running_var".Length]))
        {
            long c = w[bn + ".weight"].shape[0];
            Fill(w[bn + ".weight"], c, _ => Uniform(0.5, 1.5) * (random.Next(2) == 0 ? -1 : 1));
            Fill(w[bn + ".bias"], c, _ => Uniform(-0.3, 0.6));
            Fill(w[bn + ".running_mean"], c, _ => Uniform(-0.2, 0.2));
            Fill(w[bn + ".running_var"], c, _ => Uniform(0.5, 2));
        }

        void Zero(string name, int dim, IEnumerable<long> channels)
        {
            foreach (var c in channels) w[name].select(dim, c).zero_();
        }
        HashSet<long> Dead(string producerNorm) => DeadOf(w[producerNorm].shape[0], n[producerNorm].shape[0]);
        HashSet<long> DeadOf(long width, long keep) => [.. Enumerable.Range(0, (int)width).OrderBy(_ => random.Next()).Skip((int)keep).Select(i => (long)i)];
        void SilenceNorm(string bn, IEnumerable<long> channels, long offset = 0)
        {
            var shifted = channels.Select(c => c + offset).ToList();
            Zero(bn + ".weight", 0, shifted);
            Zero(bn + ".bias", 0, shifted);
        }

        var encoder = new[] { "b00", "b01", "b02", "b03", "b04", "b05", "b06", "b07", "b08", "b09", "b10", "b11", "b12", "b13" };
        // skip -> (decoder stage that joins it, its upsampling)
        var joins = new Dictionary<string, (string Fuse, string Up)> { ["b11"] = ("b14", "up1"), ["b05"] = ("b15", "up2"), ["b03"] = ("b16", "up3"), ["b01"] = ("b17", "up4") };
        string UpBias(string up) => w.ContainsKey($"decoder.{up}.transposed.bias") ? $"decoder.{up}.transposed" : $"decoder.{up}.conv";
        for (int i = 0; i < encoder.Length; i++)
        {
            string producer = i == 0 ? "encoder.b00.bn" : $"encoder.{encoder[i]}.bn2";
            var dead = Dead(producer + ".weight");
            SilenceNorm(producer, dead);
            if (i + 1 < encoder.Length) SilenceNorm($"encoder.{encoder[i + 1]}.bn1", dead);
            if (joins.TryGetValue(encoder[i], out var join))
                SilenceNorm($"decoder.{join.Fuse}.bn1", dead, offset: w[UpBias(join.Up) + ".bias"].shape[0]);
        }
        foreach (var (fuse, up) in joins.Values)
        {
            string layer = UpBias(up);
            var dead = DeadOf(w[layer + ".bias"].shape[0], n[layer + ".bias"].shape[0]);
            Zero(layer + ".weight", layer.EndsWith("transposed") ? 1 : 0, dead);
            Zero(layer + ".bias", 0, dead);
            SilenceNorm($"decoder.{fuse}.bn1", dead);
            SilenceNorm($"decoder.{fuse}.bn2", Dead($"decoder.{fuse}.bn2.weight"));
        }
        SilenceNorm("decoder.b18.bn", Dead("decoder.b18.bn.weight"));
    }

    static void Fill(Tensor t, long count, Func<long, float> value)
    {
        var values = new float[count];
        for (long i = 0; i < count; i++) values[i] = value(i);
        using var source = tensor(values);
        t.copy_(source);
    }
}
