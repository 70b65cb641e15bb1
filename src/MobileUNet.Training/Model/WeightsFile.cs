using System.Text;
using System.Text.Json.Nodes;
using MobileUNet.Platform;

namespace MobileUNet.Model;

/// <summary>
/// One file holds a model: the <see cref="WeightsFormat"/> framing and header, then TorchSharp's state dict.
/// Written atomically (temp file + rename), so a crash never leaves half a model.
/// </summary>
internal static class WeightsFile
{
    public static void Save(MobileUNet model, string path, JsonObject? extra = null)
    {
        var header = new WeightsHeader(WeightsFormat.FormatVersion, model.Spec, extra);
        AtomicFile.Write(path, stream =>
        {
            using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            WeightsFormat.WriteHeader(writer, header);
            model.save(writer);
        });
    }

    /// <summary>Builds the model the file describes and loads its weights.</summary>
    public static (MobileUNet Model, WeightsHeader Header) Load(string path)
    {
        using var stream = WeightsFormat.OpenRead(path);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        var header = WeightsFormat.ReadHeader(reader, path);
        var model = new MobileUNet(header.Spec);
        try
        {
            LoadState(model, reader, path);
            return (model, header);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Loads weights into an existing model; refuses a file made for another spec.</summary>
    /// <param name="anyInputSize">Accept weights trained at another input size: the network is fully convolutional,
    /// so its weights do not depend on it (fine-tuning a 128 model at 160, say).</param>
    public static WeightsHeader LoadInto(MobileUNet model, string path, bool anyInputSize = false)
    {
        using var stream = WeightsFormat.OpenRead(path);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        var header = WeightsFormat.ReadHeader(reader, path);
        if ((anyInputSize ? header.Spec with { InputSize = model.Spec.InputSize } : header.Spec) != model.Spec)
            throw new InvalidDataException($"{path}: weights are for {header.Spec}, but the model is {model.Spec}.");
        LoadState(model, reader, path);
        return header;
    }

    /// <summary>
    /// Starts a model for fine-tuning from a saved one (<c>train --init</c>): the same network at any input size, or a
    /// wider one (alpha 1 for an alpha-0.5 model, say), narrowed by <see cref="NarrowedWeights"/>.
    /// </summary>
    public static WeightsHeader StartFrom(MobileUNet model, string path)
    {
        var spec = WeightsFormat.ReadHeader(path).Spec with { InputSize = model.Spec.InputSize };
        if (spec == model.Spec) return LoadInto(model, path, anyInputSize: true);
        if (!(spec.Alpha >= model.Spec.Alpha && spec.AlphaUp * spec.Alpha >= model.Spec.AlphaUp * model.Spec.Alpha))
            throw new InvalidDataException($"{path}: weights are for {spec}, but the model is {model.Spec}; a start can be the same network or a wider one to narrow, not a narrower one.");
        var (source, header) = Load(path);
        using (source) NarrowedWeights.LoadInto(model, source, path);
        return header;
    }

    /// <summary>
    /// Starts <paramref name="model"/>'s encoder from a trained model's (a .munet of the same encoder width), leaving its
    /// decoder as initialised: a wider or narrower decoder (alpha_up) or another input size on an encoder that has
    /// already learnt the task. The source must have been trained on the same input normalisation.
    /// </summary>
    public static void LoadEncoderInto(MobileUNet model, string path, Data.Normalization normalization)
    {
        var (source, header) = Load(path);
        using (source)
        {
            if (header.Spec.Alpha != model.Spec.Alpha)
                throw new InvalidDataException(FormattableString.Invariant($"{path}: its encoder is alpha {header.Spec.Alpha}, but the model is alpha {model.Spec.Alpha}; an encoder fits only its own width."));
            var trainedOn = Training.Checkpoint.NormalizationOf(header);
            if (trainedOn != normalization)
                throw new InvalidDataException($"{path}: its encoder was trained on inputs normalised as {trainedOn.ToJson().ToJsonString()}, but this run uses {normalization.ToJson().ToJsonString()}.");
            var target = model.Encoder.state_dict();
            var from = source.Encoder.state_dict();
            using var _ = TorchSharp.torch.no_grad();
            foreach (var (name, tensor) in target)
            {
                if (!from.TryGetValue(name, out var value) || !value.shape.SequenceEqual(tensor.shape))
                    throw new InvalidDataException($"{path}: its encoder has no tensor '{name}' of shape [{string.Join(", ", tensor.shape)}].");
                tensor.copy_(value);
            }
        }
        RequireFinite(model, path);
    }

    static void LoadState(MobileUNet model, BinaryReader reader, string path)
    {
        try
        {
            model.load(reader, strict: true);
        }
        catch (Exception e) when (e is not InvalidDataException)
        {
            throw new InvalidDataException($"{path}: unreadable weights ({e.Message}).");
        }
        RequireFinite(model, path);
    }

    /// <summary>
    /// NaN or infinite weights (a damaged file, a diverged run) give all-background masks that look like a normal
    /// answer; refuse them at load time, naming the first bad tensor.
    /// </summary>
    public static void RequireFinite(MobileUNet model, string path)
    {
        using var _ = TorchSharp.torch.no_grad();
        foreach (var (name, tensor) in model.state_dict())
        {
            if (!tensor.is_floating_point()) continue;
            using var finite = TorchSharp.torch.isfinite(tensor).all();
            if (!finite.item<bool>())
                throw new InvalidDataException($"{path}: weight '{name}' holds NaN or infinite values; the file is damaged or came from a diverged run.");
        }
    }
}
