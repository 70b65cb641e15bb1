using System.Text.Json;
using System.Text.Json.Nodes;
using MobileUNet.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileUNet.Model;

/// <summary>
/// Starts an encoder from a pretrained MobileNet v1 stored as a TensorFlow.js weights manifest (a JSON list of
/// weight groups, each naming its binary shards and, per tensor, its shape, dtype and uint8/uint16 quantisation),
/// e.g. the width-1.0 MobileNet v1 of face-api's SSD detector (<c>ssd_mobilenetv1_model-weights_manifest.json</c>).
/// </summary>
/// <remarks>
/// TensorFlow's MobileNet folds each pointwise convolution's batch norm into a bias ("convolution_bn_offset");
/// here that bias becomes the following BN's shift, with unit scale and identity statistics, so the block computes
/// the same function and its BN trains on from there. The depthwise batch norms carry over as they are (both use
/// epsilon 1e-3). The network was trained on inputs scaled by the manifest's own preprocessing
/// (<c>Preprocessor/mul/x</c>, <c>Preprocessor/sub/y</c>: x * 2/255 - 1); that scale and shift are folded into the
/// first convolution, so the model keeps the caller's normalisation and every exporter and reader works unchanged.
/// A narrower encoder (alpha &lt; 1) takes the first c(n) channels of every layer: a crude start, not the same
/// function; measure it against a fresh initialisation before relying on it. A layer wider than the pretrained one
/// takes it in its leading channels and keeps its own initialisation in the rest.
/// </remarks>
internal static class PretrainedEncoder
{
    const string Prefix = "MobilenetV1/Conv2d_";

    /// <summary>Loads the manifest's MobileNet v1 into <paramref name="model"/>'s encoder (in place, without autograd).</summary>
    /// <param name="normalization">The normalisation the model is trained with: folded into the first convolution.</param>
    public static void LoadInto(MobileUNet model, string manifestPath, Normalization normalization)
    {
        var weights = TfjsWeights.Read(manifestPath);
        string Need(string name) => weights.ContainsKey(name) ? name
            : throw new InvalidDataException($"{manifestPath}: no weight '{name}'; expected a TensorFlow MobileNet v1 (names {Prefix}N_...).");
        var state = model.state_dict();
        using var _ = no_grad();

        // b00: a full 3x3 convolution with its batch norm folded; undo the manifest's input scaling into it.
        var (stemShape, stem) = weights[Need(Prefix + "0_pointwise/weights")];
        var stemBias = weights[Need(Prefix + "0_pointwise/convolution_bn_offset")].Values;
        var (scale, shift) = InputScaling(weights, manifestPath);
        using (var w = ToTorch(stem, stemShape, depthwise: false))
        {
            // x_tf = scale * p + shift, and p = x * std + mean  =>  x_tf = (scale * std) x + (scale * mean + shift).
            using var perChannel = tensor(normalization.Std.Select(s => (float)(scale * s)).ToArray()).view(1, 3, 1, 1);
            using var offset = tensor(normalization.Mean.Select(m => (float)(scale * m + shift)).ToArray()).view(1, 3, 1, 1);
            using var folded = w.mul(perChannel);
            using var extra = w.mul(offset).sum([1, 2, 3]);
            using var bias = tensor(stemBias).add(extra, HeldScalars.One);
            Copy(state, "encoder.b00.conv.weight", folded, manifestPath);
            SetIdentityNorm(state, "encoder.b00.bn", bias, manifestPath);
        }

        // TensorFlow's Conv2d_N is the encoder's stage N: Conv2d_0 the conv block above, then the depthwise ones.
        for (int i = 0; i < EncoderStages.All.Count; i++)
        {
            if (!EncoderStages.All[i].Depthwise) continue;
            string block = "encoder." + EncoderStages.All[i].Name, dw = $"{Prefix}{i}_depthwise/", pw = $"{Prefix}{i}_pointwise/";
            var (dwShape, dwValues) = weights[Need(dw + "depthwise_weights")];
            using (var t = ToTorch(dwValues, dwShape, depthwise: true)) Copy(state, block + ".depthwise.weight", t, manifestPath);
            foreach (var (tf, torchName) in new[] { ("gamma", "weight"), ("beta", "bias"), ("moving_mean", "running_mean"), ("moving_variance", "running_var") })
                using (var t = tensor(weights[Need(dw + "BatchNorm/" + tf)].Values)) Copy(state, $"{block}.bn1.{torchName}", t, manifestPath);
            var (pwShape, pwValues) = weights[Need(pw + "weights")];
            using (var t = ToTorch(pwValues, pwShape, depthwise: false)) Copy(state, block + ".pointwise.weight", t, manifestPath);
            using (var bias = tensor(weights[Need(pw + "convolution_bn_offset")].Values)) SetIdentityNorm(state, block + ".bn2", bias, manifestPath);
        }
        WeightsFile.RequireFinite(model, manifestPath);
    }

    // The manifest's preprocessing as x_tf = scale * p + shift for p in [0, 1]; MobileNet's x * 2/255 - 1 when absent.
    static (double Scale, double Shift) InputScaling(IReadOnlyDictionary<string, TfjsTensor> weights, string path)
    {
        double mul = weights.TryGetValue("Preprocessor/mul/x", out var m) && m.Values.Length == 1 ? m.Values[0] : 2.0 / 255;
        double sub = weights.TryGetValue("Preprocessor/sub/y", out var s) && s.Values.Length == 1 ? s.Values[0] : 1.0;
        return double.IsFinite(mul) && double.IsFinite(sub) && mul > 0
            ? (255 * mul, -sub)
            : throw new InvalidDataException($"{path}: unusable input preprocessing (mul {mul}, sub {sub}).");
    }

    // TensorFlow stores convolutions as [kh, kw, in, out] and depthwise ones as [kh, kw, channels, 1]; torch wants
    // [out, in, kh, kw] and [channels, 1, kh, kw].
    static Tensor ToTorch(float[] values, long[] shape, bool depthwise)
    {
        if (shape.Length != 4) throw new InvalidDataException($"expected a 4-d convolution kernel, got [{string.Join(", ", shape)}].");
        using var t = tensor(values).view(shape);
        return depthwise ? t.permute(2, 3, 0, 1).contiguous() : t.permute(3, 2, 0, 1).contiguous();
    }

    // The folded BN bias becomes the BN's shift; unit scale, zero mean and a variance that cancels epsilon make the
    // BN an identity plus bias at inference, as in the source network.
    static void SetIdentityNorm(Dictionary<string, Tensor> state, string bn, Tensor bias, string path)
    {
        long n = bias.shape[0];
        using var ones = torch.ones(n);
        using var zeros = torch.zeros(n);
        using Scalar eps = 1 - Norm.Epsilon; // held until full returns (HeldScalars)
        using var variance = torch.full(n, eps);
        Copy(state, bn + ".weight", ones, path);
        Copy(state, bn + ".bias", bias, path);
        Copy(state, bn + ".running_mean", zeros, path);
        Copy(state, bn + ".running_var", variance, path);
    }

    // Copies source into the named parameter; a narrower target takes the leading channels of every dimension, a
    // wider one (PoseNet's last two layers hold 384 channels where alpha 0.5 has 512) takes the source in its leading
    // channels and keeps its seeded initialisation in the rest. Kernel sizes must agree.
    static void Copy(Dictionary<string, Tensor> state, string name, Tensor source, string path)
    {
        using var scope = NewDisposeScope();
        var target = state[name];
        var view = source;
        var filled = target;
        if (target.dim() != source.dim())
            throw new InvalidDataException($"{path}: '{name}' has {target.dim()} dimensions, the pretrained layer {source.dim()}.");
        for (int d = 0; d < target.dim(); d++)
        {
            if (d >= 2 && target.shape[d] != view.shape[d])
                throw new InvalidDataException($"{path}: '{name}' has a {target.shape[d]}-wide kernel in dimension {d}, the pretrained layer {view.shape[d]}.");
            if (target.shape[d] < view.shape[d]) view = view.narrow(d, 0, target.shape[d]);
            else if (target.shape[d] > view.shape[d]) filled = filled.narrow(d, 0, view.shape[d]);
        }
        filled.copy_(view);
    }
}

/// <summary>One tensor from a TF.js weights manifest, dequantised to float.</summary>
internal sealed record TfjsTensor(long[] Shape, float[] Values);

/// <summary>
/// Reads a TensorFlow.js weights manifest and its shards. Untrusted input: the manifest and each shard are size
/// bounded, shard names must be plain file names beside the manifest, shapes are checked against the bytes there.
/// </summary>
internal static class TfjsWeights
{
    const long MaxManifestBytes = 1 << 20;
    const long MaxShardBytes = 256L << 20;
    const long MaxElements = 64L << 20;

    public static IReadOnlyDictionary<string, TfjsTensor> Read(string manifestPath)
    {
        if (!File.Exists(manifestPath)) throw new FileNotFoundException($"{manifestPath}: no such weights manifest.", manifestPath);
        if (new FileInfo(manifestPath).Length > MaxManifestBytes)
            throw new InvalidDataException($"{manifestPath}: over {MaxManifestBytes >> 20} MiB; not a TF.js weights manifest.");
        JsonArray groups;
        try
        {
            groups = JsonNode.Parse(File.ReadAllBytes(manifestPath))?.AsArray() ?? throw new InvalidDataException("empty");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or InvalidDataException)
        {
            throw new InvalidDataException($"{manifestPath}: not a TF.js weights manifest (a JSON list of weight groups): {e.Message}");
        }

        var dir = Path.GetDirectoryName(Path.GetFullPath(manifestPath))!;
        var result = new Dictionary<string, TfjsTensor>(StringComparer.Ordinal);
        try
        {
            foreach (var group in groups)
            {
                var bytes = ReadShards(dir, Field(group, "paths").AsArray().Select(p => Element(p).GetValue<string>()), manifestPath);
                long offset = 0;
                foreach (var w in Field(group, "weights").AsArray())
                {
                    var name = Field(w, "name").GetValue<string>();
                    var shape = Field(w, "shape").AsArray().Select(d => Element(d).GetValue<long>()).ToArray();
                    long count = 1;
                    foreach (var d in shape)
                    {
                        if (d < 0 || d > MaxElements) throw new InvalidDataException($"'{name}' has dimension {d}.");
                        count *= d;
                        if (count > MaxElements) throw new InvalidDataException($"'{name}' has over {MaxElements} values.");
                    }
                    var q = Field(w, "quantization", optional: true);
                    var stored = (q is null ? Field(w, "dtype") : Field(q, "dtype")).GetValue<string>();
                    int width = stored switch
                    {
                        "uint8" => 1,
                        "uint16" => 2,
                        "float32" or "int32" => 4,
                        _ => throw new InvalidDataException($"'{name}' is stored as {stored}; only uint8, uint16, float32 and int32 are read."),
                    };
                    if (offset + count * width > bytes.Length)
                        throw new InvalidDataException($"'{name}' ends at byte {offset + count * width}, past the shards' {bytes.Length} bytes.");
                    var span = bytes.AsSpan((int)offset, (int)(count * width));
                    result[name] = new TfjsTensor(shape, Decode(span, (int)count, stored, q, name));
                    offset += count * width;
                }
            }
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or JsonException or InvalidDataException)
        {
            throw new InvalidDataException($"{manifestPath}: {e.Message}");
        }
        return result;
    }

    static byte[] ReadShards(string dir, IEnumerable<string> names, string manifestPath)
    {
        using var all = new MemoryStream();
        foreach (var name in names)
        {
            if (name.Length == 0 || Path.GetFileName(name) != name || name is "." or "..")
                throw new InvalidDataException($"shard '{name}' is not a plain file name beside the manifest.");
            var path = Path.Combine(dir, name);
            if (!File.Exists(path)) throw new InvalidDataException($"shard {name} is missing beside the manifest.");
            if (all.Length + new FileInfo(path).Length > MaxShardBytes)
                throw new InvalidDataException($"shards over {MaxShardBytes >> 20} MiB.");
            using var f = File.OpenRead(path);
            f.CopyTo(all);
        }
        return all.ToArray();
    }

    // A JSON member the manifest must have (or an array element that must not be null): missing is one clear error.
    static JsonNode Field(JsonNode? node, string key) =>
        Field(node, key, optional: false) ?? throw new InvalidDataException($"a weight group or entry lacks '{key}'.");

    static JsonNode? Field(JsonNode? node, string key, bool optional) =>
        node is JsonObject o ? o[key] : optional ? null : throw new InvalidDataException($"expected an object holding '{key}'.");

    static JsonNode Element(JsonNode? element) => element ?? throw new InvalidDataException("a null where a value was expected.");

    static float[] Decode(ReadOnlySpan<byte> span, int count, string stored, JsonNode? quantization, string name)
    {
        var values = new float[count];
        if (stored is "uint8" or "uint16")
        {
            double scale = Field(quantization, "scale").GetValue<double>(), min = Field(quantization, "min").GetValue<double>();
            if (!double.IsFinite(scale) || !double.IsFinite(min)) throw new InvalidDataException($"'{name}' has a non-finite quantisation.");
            for (int i = 0; i < count; i++)
                values[i] = (float)(min + scale * (stored == "uint8" ? span[i] : BitConverter.ToUInt16(span.Slice(2 * i, 2))));
        }
        else if (stored == "int32")
            for (int i = 0; i < count; i++) values[i] = BitConverter.ToInt32(span.Slice(4 * i, 4));
        else
            for (int i = 0; i < count; i++) values[i] = BitConverter.ToSingle(span.Slice(4 * i, 4));
        return values;
    }
}
