package simulate

// The catalog: what people ask about, who answers, and the words they use.
// Texts come in Portuguese (index 0) and English (index 1); "{n}" stands for
// the conversation's order, invoice or ticket number.

const (
	langPT = 0
	langEN = 1
)

// texts holds alternatives per language.
type texts [2][]string

func (t *texts) pick(g *Generator, lang uint8) string {
	opts := t[lang]
	return opts[g.rng.IntN(len(opts))]
}

// field is one entry of a handoff's fields object; val may contain "{n}".
type field struct{ key, val string }

// intent is a reason for contact, with the team that owns it and what a bot
// and a human say about it.
type intent struct {
	name       string
	weight     float64
	team       uint8
	contain    float64 // share of bot conversations the bot resolves on its own
	opener     texts   // the customer's first message
	botReply   texts   // the bot's answer to the opener
	botSolve   texts   // the bot's resolution
	agentFirst texts   // the agent's first message after a handoff
	agentSolve texts   // the agent's resolution
	summary    texts   // handoff summary
	fields     []field
	nextAction string
}

// Teams of human agents.
const (
	teamSupport uint8 = iota
	teamBilling
	teamSales
	teamRetention
	numTeams
)

var teamNames = [numTeams]string{"support", "billing", "sales", "retention"}

// agentsPerTeam is the size of each team's roster; agent ids are stable.
const agentsPerTeam = 12

var agentIDs = func() (ids [numTeams * agentsPerTeam]string) {
	prefix := [numTeams]string{"ag-sup-", "ag-bil-", "ag-sal-", "ag-ret-"}
	for t := range numTeams {
		for i := range agentsPerTeam {
			ids[int(t)*agentsPerTeam+i] = prefix[t] + string(rune('0'+(i+1)/10)) + string(rune('0'+(i+1)%10))
		}
	}
	return ids
}()

var intents = []intent{
	{name: "order_status", weight: 25, team: teamSupport, contain: 0.55,
		opener: texts{{"Meu pedido {n} não chegou", "Oi, quero saber onde está meu pedido {n}", "O rastreio do pedido {n} não atualiza desde segunda", "boa tarde, cadê meu pedido {n}??"},
			{"My order {n} hasn't arrived", "Hi, where is my order {n}?", "Tracking for order {n} hasn't updated since Monday"}},
		botReply: texts{{"Encontrei o pedido {n}. Ele está com a transportadora, com previsão de entrega em 2 dias úteis.", "O pedido {n} saiu para entrega hoje. Quer receber o link de rastreio?"},
			{"I found order {n}. It is with the carrier and should arrive within 2 business days.", "Order {n} is out for delivery today. Would you like the tracking link?"}},
		botSolve:   texts{{"Enviei o link de rastreio do pedido {n}. Posso ajudar em algo mais?"}, {"I've sent the tracking link for order {n}. Anything else I can help with?"}},
		agentFirst: texts{{"Olá! Já estou verificando o pedido {n} com a transportadora.", "Oi, tudo bem? Vi aqui que o pedido {n} teve um atraso na transportadora."}, {"Hi! I'm checking order {n} with the carrier right now."}},
		agentSolve: texts{{"Abri uma ocorrência com a transportadora e o pedido {n} será entregue amanhã.", "Reenviamos o pedido {n} por entrega expressa."}, {"I've opened a claim with the carrier; order {n} will be delivered tomorrow."}},
		summary:    texts{{"Pedido {n} atrasado; cliente já consultou o rastreio e pede nova previsão."}, {"Order {n} is late; customer already checked tracking and wants a new date."}},
		fields:     []field{{"order_id", "{n}"}, {"carrier", "Correios"}}, nextAction: "open_carrier_claim"},
	{name: "billing", weight: 14, team: teamBilling, contain: 0.25,
		opener: texts{{"Fui cobrado duas vezes na fatura {n}", "Não reconheço uma cobrança de R$ 89,90 na fatura {n}", "Minha fatura veio com valor errado"},
			{"I was charged twice on invoice {n}", "There is a charge of $19.90 on invoice {n} I don't recognize"}},
		botReply:   texts{{"Entendi. Vou consultar a fatura {n} para você.", "Localizei a fatura {n}. Ela tem dois lançamentos no mesmo dia."}, {"Got it. Let me look up invoice {n} for you."}},
		botSolve:   texts{{"A segunda cobrança da fatura {n} já foi estornada e aparece em até 2 faturas."}, {"The second charge on invoice {n} has been reversed and will show within 2 billing cycles."}},
		agentFirst: texts{{"Olá, aqui é do time de cobrança. Estou com a fatura {n} aberta."}, {"Hi, billing team here. I have invoice {n} open."}},
		agentSolve: texts{{"Estornei a cobrança duplicada da fatura {n}. O crédito aparece em até 5 dias úteis."}, {"I've refunded the duplicate charge on invoice {n}; the credit shows within 5 business days."}},
		summary:    texts{{"Cobrança duplicada na fatura {n}; cliente pede estorno."}, {"Duplicate charge on invoice {n}; customer asks for a refund."}},
		fields:     []field{{"invoice_id", "INV-{n}"}, {"amount", "89.90"}}, nextAction: "review_invoice"},
	{name: "cancel", weight: 8, team: teamRetention, contain: 0.1,
		opener:     texts{{"Quero cancelar minha assinatura", "Como faço para cancelar o plano?", "cancelar"}, {"I want to cancel my subscription", "How do I cancel my plan?"}},
		botReply:   texts{{"Que pena! Antes de cancelar, posso te oferecer 3 meses com 50% de desconto?"}, {"Sorry to hear that! Before you go, can I offer you 3 months at 50% off?"}},
		botSolve:   texts{{"Pronto, o desconto foi aplicado ao seu plano. Obrigado por ficar com a gente!"}, {"Done, the discount is on your plan. Thanks for staying with us!"}},
		agentFirst: texts{{"Olá! Sou do time de relacionamento. Posso entender o motivo do cancelamento?"}, {"Hello! I'm from the customer care team. May I ask why you'd like to cancel?"}},
		agentSolve: texts{{"Cancelamento concluído. O protocolo é {n}.", "Apliquei a oferta de retenção, protocolo {n}."}, {"Your cancellation is done, reference {n}."}},
		summary:    texts{{"Cliente quer cancelar; recusou a oferta de 50% do bot."}, {"Customer wants to cancel; declined the bot's 50% offer."}},
		fields:     []field{{"plan", "premium"}, {"tenure_months", "14"}}, nextAction: "retention_offer"},
	{name: "tech_support", weight: 14, team: teamSupport, contain: 0.3,
		opener:     texts{{"O app fecha sozinho quando abro o extrato", "Não consigo fazer login, dá erro 403", "A internet está caindo toda hora 😡"}, {"The app crashes when I open my statement", "I can't log in, I get error 403"}},
		botReply:   texts{{"Vamos tentar algumas coisas: atualize o app e reinicie o celular. Funcionou?"}, {"Let's try a few things: update the app and restart your phone. Did that work?"}},
		botSolve:   texts{{"Que bom que funcionou! Qualquer coisa é só chamar."}, {"Great, glad it works now! Just reach out if anything else comes up."}},
		agentFirst: texts{{"Olá! Sou do suporte técnico. Vou analisar o erro do chamado {n}."}, {"Hi! Tech support here. I'm looking into ticket {n}."}},
		agentSolve: texts{{"Corrigimos a configuração da sua conta, pode testar de novo?"}, {"We fixed your account settings, could you try again?"}},
		summary:    texts{{"App fecha ao abrir extrato; cliente já atualizou e reiniciou."}, {"App crashes on statement; customer already updated and restarted."}},
		fields:     []field{{"ticket_id", "T-{n}"}, {"device", "android"}, {"error_code", "E403"}}, nextAction: "troubleshoot"},
	{name: "refund", weight: 8, team: teamBilling, contain: 0.15,
		opener:     texts{{"Quero o reembolso do pedido {n}", "Devolvi o produto do pedido {n} e não recebi o dinheiro"}, {"I want a refund for order {n}", "I returned order {n} and never got my money back"}},
		botReply:   texts{{"Vi que a devolução do pedido {n} chegou ao nosso centro de distribuição."}, {"I can see the return for order {n} reached our warehouse."}},
		botSolve:   texts{{"O reembolso do pedido {n} foi liberado e cai em até 7 dias."}, {"The refund for order {n} has been released and will arrive within 7 days."}},
		agentFirst: texts{{"Oi! Sou do financeiro, vou verificar o reembolso do pedido {n}."}, {"Hi! Finance team here, checking the refund for order {n}."}},
		agentSolve: texts{{"Reembolso do pedido {n} aprovado. Você recebe em até 7 dias úteis."}, {"Refund for order {n} approved; you'll get it within 7 business days."}},
		summary:    texts{{"Reembolso do pedido {n} pendente após devolução."}, {"Refund for order {n} pending after return."}},
		fields:     []field{{"order_id", "{n}"}, {"amount", "249.00"}}, nextAction: "issue_refund"},
	{name: "delivery_address", weight: 6, team: teamSupport, contain: 0.4,
		opener:     texts{{"Preciso mudar o endereço de entrega do pedido {n}"}, {"I need to change the delivery address for order {n}"}},
		botReply:   texts{{"Consigo alterar se o pedido {n} ainda não saiu. Qual o novo CEP?"}, {"I can change it if order {n} hasn't shipped yet. What's the new ZIP code?"}},
		botSolve:   texts{{"Endereço atualizado no pedido {n}."}, {"Address updated on order {n}."}},
		agentFirst: texts{{"Olá! Vou tentar interceptar o pedido {n} na transportadora."}, {"Hello! I'll try to intercept order {n} with the carrier."}},
		agentSolve: texts{{"Consegui alterar o endereço do pedido {n}."}, {"I managed to change the address on order {n}."}},
		summary:    texts{{"Troca de endereço do pedido {n}, já despachado."}, {"Address change for order {n}, already shipped."}},
		fields:     []field{{"order_id", "{n}"}}, nextAction: "update_address"},
	{name: "product_info", weight: 10, team: teamSales, contain: 0.5,
		opener:     texts{{"Vocês têm esse produto em estoque?", "Qual a diferença entre o plano básico e o premium?", "Quanto custa o frete para Recife?"}, {"Is this item in stock?", "What's the difference between the basic and premium plans?"}},
		botReply:   texts{{"O premium inclui suporte 24h e 100 GB. Quer que eu envie a comparação?"}, {"Premium includes 24/7 support and 100 GB. Shall I send the comparison?"}},
		botSolve:   texts{{"Enviei a tabela de planos. Se quiser contratar, é só responder aqui."}, {"I've sent the plan table. Reply here if you'd like to sign up."}},
		agentFirst: texts{{"Olá! Sou consultor de vendas, posso te ajudar a escolher."}, {"Hi! I'm a sales consultant, happy to help you choose."}},
		agentSolve: texts{{"Proposta {n} enviada por e-mail, válida por 7 dias."}, {"Quote {n} sent by email, valid for 7 days."}},
		summary:    texts{{"Interesse no plano premium; pediu proposta."}, {"Interested in premium; asked for a quote."}},
		fields:     []field{{"product_sku", "SKU-{n}"}}, nextAction: "send_quote"},
	{name: "account_access", weight: 7, team: teamSupport, contain: 0.45,
		opener:     texts{{"Esqueci minha senha e o código não chega", "minha conta foi bloqueada"}, {"I forgot my password and the code never arrives", "my account is locked"}},
		botReply:   texts{{"Enviei um novo código de verificação. Ele chegou?"}, {"I've sent a new verification code. Did it arrive?"}},
		botSolve:   texts{{"Acesso liberado! Recomendo trocar a senha agora."}, {"Access restored! I recommend changing your password now."}},
		agentFirst: texts{{"Olá! Para sua segurança, vou validar alguns dados."}, {"Hello! For your security, I'll verify a few details."}},
		agentSolve: texts{{"Conta desbloqueada, protocolo {n}."}, {"Account unlocked, reference {n}."}},
		summary:    texts{{"Código de verificação não chega; conta bloqueada."}, {"Verification code not arriving; account locked."}},
		fields:     []field{{"ticket_id", "T-{n}"}, {"method", "sms"}}, nextAction: "verify_identity"},
	{name: "complaint", weight: 4, team: teamSupport, contain: 0.05,
		opener:     texts{{"Péssimo atendimento, já é a terceira vez que falo do pedido {n}", "Quero registrar uma reclamação"}, {"Terrible service, this is the third time I'm writing about order {n}"}},
		botReply:   texts{{"Sinto muito pela experiência. Pode me contar o que aconteceu?"}, {"I'm sorry about your experience. Can you tell me what happened?"}},
		botSolve:   texts{{"Registrei sua reclamação com o protocolo {n}."}, {"I've logged your complaint under reference {n}."}},
		agentFirst: texts{{"Olá, sou supervisora do atendimento. Li todo o histórico do pedido {n}."}, {"Hello, I'm a service supervisor. I've read the whole history of order {n}."}},
		agentSolve: texts{{"Resolvemos o pedido {n} e incluímos um cupom de desculpas."}, {"We've sorted out order {n} and added an apology voucher."}},
		summary:    texts{{"Reclamação recorrente sobre o pedido {n}; cliente irritado."}, {"Repeated complaint about order {n}; customer upset."}},
		fields:     []field{{"order_id", "{n}"}, {"previous_contacts", "3"}}, nextAction: "escalate_supervisor"},
	{name: "plan_upgrade", weight: 4, team: teamSales, contain: 0.3,
		opener:     texts{{"Quero mudar para o plano premium", "Dá pra aumentar minha franquia?"}, {"I'd like to upgrade to premium"}},
		botReply:   texts{{"Ótimo! O premium custa R$ 59,90/mês. Posso fazer a troca agora?"}, {"Great! Premium is $12.90/month. Shall I switch you now?"}},
		botSolve:   texts{{"Plano alterado para premium a partir de hoje."}, {"Your plan is premium from today."}},
		agentFirst: texts{{"Olá! Vou cuidar da sua mudança de plano."}, {"Hi! I'll take care of your plan change."}},
		agentSolve: texts{{"Upgrade concluído, protocolo {n}."}, {"Upgrade done, reference {n}."}},
		summary:    texts{{"Cliente quer upgrade para premium; dúvida sobre fidelidade."}, {"Customer wants premium; asks about the contract term."}},
		fields:     []field{{"plan", "premium"}, {"current_plan", "basic"}}, nextAction: "send_offer"},
}

var intentTotal = func() (s float64) {
	for _, in := range intents {
		s += in.weight
	}
	return s
}()

func (g *Generator) pickIntent() uint8 {
	u := g.rng.Float64() * intentTotal
	for i, in := range intents {
		if u < in.weight {
			return uint8(i)
		}
		u -= in.weight
	}
	return 0
}

// Generic lines, not tied to an intent.
var (
	custFollowUp = texts{{"Ok, e quando resolve?", "Ainda não deu certo", "Já tentei isso", "Pode me passar para um atendente?", "não entendi", "Certo", "É o mesmo número de antes"},
		{"Ok, and when will it be fixed?", "Still not working", "I already tried that", "Can I talk to a person?", "Right"}}
	// custRestate opens a customer's re-explanation of their problem (the
	// intent's opener follows): what repeated_after_handoff measures.
	custRestate = texts{{"Como eu já expliquei: ", "Já falei isso pro robô, mas de novo: ", "Repetindo: "},
		{"As I already explained: ", "I told the bot already, but again: "}}
	custNudge  = texts{{"Alô? Tem alguém aí?", "?", "Oi??", "Ainda estou aguardando"}, {"Hello? Anyone there?", "?", "Still waiting"}}
	custThanks = texts{{"Obrigada!", "Valeu, resolvido 👍", "Ok, obrigado", "Perfeito, muito obrigado!"}, {"Thanks!", "Great, thank you 👍", "Perfect, thanks!"}}
	custReopen = texts{{"O problema voltou", "Ainda não recebi, vocês disseram que era amanhã", "Continua dando erro"}, {"The problem is back", "Still haven't received it", "Still getting the error"}}
	custAnswer = texts{{"É o número {n}", "Isso mesmo", "Sim, já fiz isso", "Segue o número: {n}"}, {"It's number {n}", "Yes, exactly", "Yes, I did that already"}}
	botAsk     = texts{{"Pode confirmar o número do pedido?", "Entendi. Pode me dar mais detalhes?", "Certo! Só mais uma pergunta: isso aconteceu hoje?"}, {"Could you confirm the order number?", "I see. Could you give me more details?"}}
	botHandoff = texts{{"Vou transferir você para um especialista. Aguarde um instante.", "Vou chamar alguém do nosso time para te ajudar."}, {"I'm transferring you to a specialist, one moment please.", "Let me bring in someone from our team."}}
	agentNext  = texts{{"Pode confirmar se deu certo por aí?", "Só um momento que estou verificando.", "Mais alguma dúvida?"}, {"Could you confirm it works on your side?", "One moment while I check.", "Anything else?"}}
	agentBye   = texts{{"Fico à disposição. Tenha um ótimo dia!", "Obrigado pelo contato!"}, {"Happy to help. Have a great day!", "Thanks for reaching out!"}}
	agentNote  = texts{{"Cliente já entrou em contato 2x esta semana", "Verificar com logística antes de responder", "Supervisor aprovou o estorno"}, {"Customer contacted us twice this week", "Refund approved by supervisor"}}
	autoClose  = texts{{"Encerramos esta conversa por inatividade. Se precisar, é só chamar!"}, {"We closed this conversation due to inactivity. Write again anytime!"}}

	commentGood    = texts{{"Atendimento rápido, adorei", "Resolveram meu problema", "Muito atenciosa, obrigado", "nota 10"}, {"Quick and helpful", "Solved my problem, thanks"}}
	commentNeutral = texts{{"Resolveu, mas demorou", "Ok", "Poderia ser mais rápido"}, {"Fine, but slow", "Ok"}}
	commentBad     = texts{{"Tive que repetir tudo para o atendente", "Demorou demais", "O robô não entende nada", "Ninguém resolveu"}, {"I had to repeat everything to the agent", "Took way too long", "The bot is useless"}}
)

// Handoff reasons, in the order a handoff plan refers to them.
var handoffReasons = []string{"customer_requested_human", "low_confidence", "intent_requires_agent", "negative_sentiment", "business_rule"}
