using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileUNet.Model;

/// <summary>
/// Initial weights from a seed, drawn without libtorch's generator. That generator is one per process: whatever
/// else draws from it between a <c>manual_seed</c> and the end of a model's construction (another training, a test
/// running in parallel) changes the weights, so two runs with one seed could differ. These draws come from a
/// <see cref="Random"/> of their own, with PyTorch's default distributions: every Conv2d and ConvTranspose2d weight and
/// bias uniform in +-1/sqrt(fan_in), fan_in being the weight's second dimension times its kernel area (kaiming_uniform
/// with a = sqrt(5), as torch.nn does); batch norms keep their deterministic ones and zeros.
/// </summary>
internal static class SeededInit
{
    public static void Apply(nn.Module model, long seed)
    {
        // Fold the 64-bit seed into Random's 32 (not HashCode, which is salted per process).
        var random = new Random(unchecked((int)seed ^ (int)(seed >> 32)));
        using var _ = no_grad();
        foreach (var (_, module) in model.named_modules())
        {
            var (weight, bias) = module switch
            {
                Conv2d c => (c.weight, c.bias),
                ConvTranspose2d t => (t.weight, t.bias),
                _ => (null, null),
            };
            if (weight is null) continue;
            var shape = weight.shape;
            long fanIn = shape[1] * shape[2] * shape[3];
            double bound = 1 / Math.Sqrt(fanIn);
            Fill(weight, random, bound);
            if (bias is not null) Fill(bias, random, bound);
        }
    }

    static void Fill(Tensor parameter, Random random, double bound)
    {
        var values = new float[parameter.numel()];
        for (int i = 0; i < values.Length; i++) values[i] = (float)((random.NextDouble() * 2 - 1) * bound);
        using var source = tensor(values, parameter.shape);
        parameter.copy_(source);
    }
}
