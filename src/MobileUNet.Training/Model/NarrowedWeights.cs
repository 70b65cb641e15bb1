using TorchSharp;
using static TorchSharp.torch;

namespace MobileUNet.Model;

/// <summary>
/// Starts a narrower MobileUNet (alpha 0.5, say) from a wider trained one (alpha 1) by structured pruning: every
/// tensor that flows between layers keeps the channels its batch norm scales most (|gamma|, as in Liu et al., 2017,
/// "Learning Efficient Convolutional Networks through Network Slimming"), and each layer keeps the weights that join
/// kept channels. A channel's |gamma| sets the size of what it passes on, since the norm fixes the rest of its scale.
/// </summary>
/// <remarks>
/// A channel set is the output of one layer, read by every layer after it that takes it: an encoder block's output
/// feeds the next block and, for a skip, the decoder stage that joins it, at its offset in the concatenation. An
/// upsampling's output has no norm of its own; it is scored by the norm of the depthwise layer that reads it (its
/// channels pass one to one). The result is not the source's function (the pruned channels' contributions are
/// gone) but a start that has learnt the task: fine-tune it. Exact where the pruned channels are silent (tested).
/// </remarks>
internal static class NarrowedWeights
{
    /// <summary>Copies <paramref name="source"/>'s kept channels into <paramref name="target"/>, in place.</summary>
    /// <param name="path">The source's file, for messages.</param>
    public static void LoadInto(MobileUNet target, MobileUNet source, string path)
    {
        if (source.Spec.Upsampling != target.Spec.Upsampling)
            throw new InvalidDataException($"{path}: its decoder upsamples by {source.Spec.Upsampling}, the model by {target.Spec.Upsampling}; narrowing keeps the layers as they are.");
        var from = source.state_dict();
        var to = target.state_dict();
        using var _ = no_grad();
        var copier = new Copier(from, to, path);

        // Encoder: b00 reads the image's three channels; each block's output is the next block's input.
        var kept = new Dictionary<string, long[]>();
        long[] input = [.. Enumerable.Range(0, EncoderStages.ImageChannels).Select(i => (long)i)];
        foreach (var stage in EncoderStages.All)
        {
            string block = "encoder." + stage.Name;
            input = stage.Depthwise ? copier.DepthwiseBlock(block, input) : copier.ConvBlock(block, input);
            kept[stage.Name] = input;
        }

        // Decoder (UNetDecoder): up1..up4 each upsample and join the skips from the deepest up (b11, b05, b03, b01), at
        // their offset after the upsampling's channels, fused by b14..b17; b18 then joins the first skip (b00).
        var skips = EncoderStages.All.Where(s => s.Skip).Reverse().ToList();
        string fuse = "";
        for (int i = 0; i < skips.Count - 1; i++)
        {
            var up = UpsamplingLayer.Of(from, $"decoder.up{i + 1}");
            fuse = $"decoder.b{14 + i}";
            long sourceUpWidth = from[up.Bias].shape[0];
            var upKept = copier.Top($"{fuse}.bn1.weight", to[up.Bias].shape[0], limit: sourceUpWidth);
            copier.Slice(up.Weight, (up.InputDim, input), (1 - up.InputDim, upKept));
            copier.Slice(up.Bias, (0, upKept));
            input = copier.DepthwiseBlock(fuse, Join(upKept, sourceUpWidth, kept[skips[i].Name]));
        }
        input = copier.ConvBlock("decoder.b18", Join(input, from[fuse + ".bn2.weight"].shape[0], kept[skips[^1].Name]));
        copier.Slice("decoder.head.weight", (1, input));
        copier.Slice("decoder.head.bias");
        copier.RequireAllCopied();
        WeightsFile.RequireFinite(target, path);
    }

    // An upsampling's parameters: a transposed convolution holds weight [in, out, 2, 2], a resize + conv [out, in, 3, 3];
    // both a bias as long as their output.
    sealed record UpsamplingLayer(string Weight, string Bias, int InputDim)
    {
        public static UpsamplingLayer Of(Dictionary<string, Tensor> state, string up) =>
            state.ContainsKey(up + ".transposed.weight")
                ? new(up + ".transposed.weight", up + ".transposed.bias", 0)
                : new(up + ".conv.weight", up + ".conv.bias", 1);
    }

    // The concatenation's kept channels: the first part's, then the second's shifted by the first part's source width.
    static long[] Join(long[] first, long firstSourceWidth, long[] second) => [.. first, .. second.Select(c => c + firstSourceWidth)];

    /// <summary>Slices source tensors into target ones by kept channel indices, and tracks what it has filled.</summary>
    sealed class Copier(Dictionary<string, Tensor> from, Dictionary<string, Tensor> to, string path)
    {
        readonly HashSet<string> copied = [];

        /// <summary>The <paramref name="count"/> channels of largest |value| in the first <paramref name="limit"/> of a norm's scale, in index order.</summary>
        public long[] Top(string scaleName, long count, long? limit = null)
        {
            var scale = Need(scaleName);
            long available = limit ?? scale.shape[0];
            if (count > available)
                throw new InvalidDataException($"{path}: '{scaleName}' has {available} channels, fewer than the model's {count}; narrowing only removes channels.");
            using var magnitude = scale.narrow(0, 0, available).abs();
            // Ties (a norm never trained away from its start) keep the lower index, so the order is the source's.
            var values = magnitude.data<float>().ToArray();
            return [.. Enumerable.Range(0, (int)available).OrderByDescending(i => values[i]).ThenBy(i => i).Take((int)count).Order().Select(i => (long)i)];
        }

        // 3x3 conv -> BN: the output keeps the BN's top channels.
        public long[] ConvBlock(string block, long[] input)
        {
            var output = Top(block + ".bn.weight", to[block + ".bn.weight"].shape[0]);
            Slice(block + ".conv.weight", (0, output), (1, input));
            Norm(block + ".bn", output);
            return output;
        }

        // 3x3 depthwise -> BN over the input's channels, then 1x1 -> BN: the output keeps the second BN's top channels.
        public long[] DepthwiseBlock(string block, long[] input)
        {
            Slice(block + ".depthwise.weight", (0, input));
            Norm(block + ".bn1", input);
            var output = Top(block + ".bn2.weight", to[block + ".bn2.weight"].shape[0]);
            Slice(block + ".pointwise.weight", (0, output), (1, input));
            Norm(block + ".bn2", output);
            return output;
        }

        void Norm(string bn, long[] channels)
        {
            foreach (var part in new[] { ".weight", ".bias", ".running_mean", ".running_var" }) Slice(bn + part, (0, channels));
            Slice(bn + ".num_batches_tracked");
        }

        /// <summary>Copies the source tensor, taking only the kept indices in the dimensions named.</summary>
        public void Slice(string name, params (int Dim, long[] Keep)[] keep)
        {
            using var scope = NewDisposeScope();
            var value = Need(name);
            foreach (var (dim, indices) in keep)
                value = value.index_select(dim, tensor(indices));
            if (!to.TryGetValue(name, out var target) || !target.shape.SequenceEqual(value.shape))
                throw new InvalidDataException($"{path}: '{name}' narrows to [{string.Join(", ", value.shape)}], but the model's is [{(target is null ? "absent" : string.Join(", ", target.shape))}].");
            target.copy_(value);
            copied.Add(name);
        }

        public void RequireAllCopied()
        {
            var missed = to.Keys.Where(k => !copied.Contains(k)).ToList();
            if (missed.Count > 0) throw new InvalidOperationException($"narrowing left {missed.Count} tensors unset, the first '{missed[0]}': the layer map is out of date.");
        }

        Tensor Need(string name) => from.TryGetValue(name, out var t) ? t
            : throw new InvalidDataException($"{path}: no tensor '{name}'; not a MobileUNet of this layout.");
    }
}
